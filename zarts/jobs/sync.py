"""RQ entry points for sync connectors and the health check; they take ids and call services."""
from ..services.health import checks
from ..services.sync import pull
from .context import app_context


def run_sync(run_id):
    """Run one queued sync run (it pages through the source); safe to run twice."""
    with app_context():
        run = pull.execute(run_id)
        return None if run is None else run.status


def check_health():
    """Recompute every connection's health (the periodic round)."""
    with app_context():
        return len(checks.periodic())


def schedule_syncs():
    """Start the sync runs that are due and hand them to workers."""
    with app_context():
        return pull.schedule()
