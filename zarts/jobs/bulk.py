"""RQ entry point for bulk operations on events; takes the operation's id."""
from ..services.console import bulk
from .context import app_context


def run_bulk_operation(operation_id):
    """Walk a bulk operation's events batch by batch; safe to run twice (it resumes)."""
    with app_context():
        return bulk.run(operation_id)
