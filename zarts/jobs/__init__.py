"""Thin RQ entry points that take ids and call services: the only place that knows job functions.

Services ask for background work by name through zarts.dispatch; init_app registers what each
name runs. Every entry point is safe to run twice.
"""
from .. import dispatch
from . import bulk, imports, normalize, sync


def init_app(app):
    """Register the entry points with zarts.dispatch."""
    dispatch.register("normalize_events", normalize.normalize_events, timeout=600)
    dispatch.register("run_bulk_operation", bulk.run_bulk_operation, timeout=3600)
    dispatch.register("run_csv_import", imports.run_csv_import, timeout=4 * 3600)
    dispatch.register("run_sync", sync.run_sync, timeout=8 * 3600)
