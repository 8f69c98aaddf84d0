"""Admin blueprint: everything under /admin requires the admin role.

Topic modules: board (health board), events (explorer, detail, inline actions, bulk retry),
connections (setup, secrets, lifecycle, onboarding, mapping editor), tasks, audit_log,
notifications (destinations, the log, snooze), digests (a client's digest: preview, on/off).
"""
from . import (  # noqa: F401  # noqa: F401  (connection setup and onboarding)
    audit_log,
    board,
    bulk,
    connections,
    digests,
    event_actions,
    events,
    imports,
    manual,
    mapping_editor,
    metrics,
    notifications,
    onboarding,
    sync,
    tasks,
)
from .blueprint import bp  # noqa: F401
