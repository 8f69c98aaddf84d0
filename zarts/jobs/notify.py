"""RQ entry points for notifications: send what is due, queue client digests, find connections
left in testing (the periodic round runs them at their own pace)."""
from ..models import utcnow
from ..services.notify import alerts, delivery, digest
from .context import app_context


def send_notifications():
    """Send every notification that is due; {outcome: count}."""
    with app_context():
        return delivery.flush()


def queue_digests():
    """Queue the client digests that are due; how many."""
    with app_context():
        return digest.queue_due(utcnow())


def check_testing():
    """Alert the owners of connections left in draft or testing too long; how many."""
    with app_context():
        return alerts.testing_too_long(utcnow())
