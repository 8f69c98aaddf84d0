"""The sweeper: the database is the truth, so anything stranded is found there and handed over."""
from ...models import utcnow
from ..ingest.handoff import hand_over
from . import claims


def sweep(now=None, limit=1000):
    """Hand over stuck, due and abandoned events; returns how many."""
    ids = claims.stranded_ids(now or utcnow(), limit=limit)
    if ids:
        hand_over(ids)
    return {"handed_over": len(ids)}
