"""The sweeper: the database is the truth, so anything stranded is found there and handed over."""
from flask import current_app
from redis.exceptions import RedisError

from ... import dispatch, queues, workers
from ...models import utcnow
from ..ingest.handoff import hand_over
from . import claims


def sweep(now=None, limit=1000):
    """End dead workers' claims, then hand over stuck, due and abandoned events; returns counts."""
    now = now or utcnow()
    ended, idle = 0, False
    if dispatch.queued():  # with Redis: ask it which workers beat and whether any work is left
        try:
            ended = claims.end_dead_claims(workers.alive(), now)
            idle = queues.in_flight() == 0
        except RedisError as exc:
            current_app.logger.warning("sweeper cannot reach Redis (%s): sweeping by the clock", type(exc).__name__)
    ids = claims.stranded_ids(now, limit=limit, queue_idle=idle)
    if ids:
        hand_over(ids)
    return {"handed_over": len(ids), "dead_claims": ended}
