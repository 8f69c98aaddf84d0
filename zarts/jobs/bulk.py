"""RQ entry point for bulk operations on events; takes the operation's id."""
from .normalize import _context


def run_bulk_operation(operation_id):
    """Walk a bulk operation's events batch by batch; safe to run twice (it resumes)."""
    from ..services import bulk

    with _context():
        return bulk.run(operation_id)
