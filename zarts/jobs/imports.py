"""RQ entry point for manual CSV imports; takes the import's id, never the file."""
from ..services.imports import csv_run
from .context import app_context


def run_csv_import(import_id):
    """Run the import's waiting pass (dry run or import); safe to run twice."""
    with app_context():
        return csv_run.run(import_id)
