"""Notifications: where alerts go (destinations), the notification log with resend, alert snooze."""
from .blueprint import bp  # noqa: F401
