"""RQ entry point for manual CSV imports; takes the import's id, never the file."""
from .normalize import _context


def run_csv_import(import_id):
    """Run the import's waiting pass (dry run or import); safe to run twice."""
    from ..services import csv_run

    with _context():
        return csv_run.run(import_id)
