"""RQ entry points for normalization and the sweeper; they take ids and call services."""
from ..extensions import db
from ..models import utcnow
from ..services.ingest.handoff import BATCH_SIZE
from ..services.mapping import shapes
from ..services.pipeline import claims, normalize, sweeper
from ..services.proof import outcomes
from .context import app_context


def normalize_events(event_ids):
    """Normalize these events (ids only, never payloads), topped up from the backlog; safe to run twice."""
    with app_context():
        return normalize.process(claims.top_up(event_ids, BATCH_SIZE))


def end_abandoned_claims():
    """End the claims this process's failed jobs left behind, once the database answers again."""
    with app_context():
        return claims.end_abandoned()


def flush_paths_index():
    """Write the shapes this process gathered for the paths index (and check them for drift)."""
    with app_context():
        shapes.flush(utcnow())


def sweep():
    """Hand stranded events over again (stuck, due for retry, or abandoned by a dead worker)."""
    with app_context():
        return sweeper.sweep()


def refresh_cards():
    """Recompute the portal cards left behind by the per-batch debounce."""
    with app_context():
        count = outcomes.refresh_due()
        db.session.commit()
        return count
