"""RQ entry points for sync connectors and the health check; they take ids and call services."""
from .normalize import _context


def run_sync(run_id):
    """Run one queued sync run (it pages through the source); safe to run twice."""
    from ..services import sync

    with _context():
        run = sync.execute(run_id)
        return None if run is None else run.status


def check_health():
    """Recompute every connection's health (the periodic round)."""
    from ..services import health

    with _context():
        return len(health.periodic())


def schedule_syncs():
    """Start the sync runs that are due and hand them to workers."""
    from ..services import sync

    with _context():
        return sync.schedule()
