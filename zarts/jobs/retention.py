"""RQ entry point for the retention period of raw bodies (the periodic round runs it hourly)."""
from ..services.pipeline import retention
from .context import app_context


def purge_raw_bodies():
    """Empty the raw bodies of finished events past their retention; how many."""
    with app_context():
        return retention.purge_raw_bodies()
