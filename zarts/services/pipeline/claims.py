"""Claiming events for processing: one atomic UPDATE, with a lease that expires if a worker dies."""
import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ... import workers
from ...extensions import db
from ...models import Connection, WebhookEvent, utcnow
from ..ingest.handoff import QUEUED_GRACE_SECONDS

# Longer than a normalize job may run (its RQ timeout is 600 s, zarts.jobs): a worker still at
# work never loses its claim to the sweeper. A dead worker's claims end much sooner, when its
# heartbeat stops (end_dead_claims).
LEASE_SECONDS = 900
# `received` for this long means the hand-off after commit did not happen.
RECEIVED_GRACE_SECONDS = 30
# `queued` events may wait behind a backlog: each is handed over again once per QUEUED_GRACE
# (handoff sets when), or after IDLE_GRACE when the queue holds no work at all (Redis was flushed).
IDLE_GRACE_SECONDS = 30

# Claims this process gave up when their job failed midway, not yet ended because the database was
# away (an outage is the usual cause): end_abandoned() ends them once it answers again.
_abandoned = set()


def claimable(now):
    """Events a worker may take now: new, due for retry, or left behind by a dead worker."""
    events = WebhookEvent.__table__.c
    paused = select(Connection.id).where(Connection.lifecycle == "paused")
    return and_(
        or_(
            events.status.in_(("received", "queued")),
            and_(events.status == "retry_scheduled", events.next_attempt_at <= now),
            and_(events.status == "processing", events.lease_expires_at < now),
        ),
        events.connection_id.not_in(paused.scalar_subquery()),
    )


def claim(event_ids, lease_seconds=LEASE_SECONDS):
    """Claim what is claimable among event_ids; returns (token, claimed ids). Commits."""
    if not event_ids:
        return None, []
    now, token = utcnow(), uuid.uuid4().hex
    events = WebhookEvent.__table__
    result = db.session.execute(
        update(events)
        .where(events.c.id.in_(list(event_ids)), claimable(now))
        .values(status="processing", claim_token=token, claimed_by=workers.name(), attempts=events.c.attempts + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds), next_attempt_at=None)
    )
    ids = [] if result.rowcount == 0 else list(db.session.scalars(  # nothing matched: spare a round trip
        select(events.c.id).where(events.c.id.in_(list(event_ids)), events.c.claim_token == token)
    ))
    db.session.commit()
    return token, ids


def top_up(event_ids, size):
    """event_ids, then the oldest other queued events, up to size ids in all.

    A worker that picks one small job from a backlog of them takes a full batch instead; the jobs
    it overtook find their events claimed and end at once. The claim still decides who works what.
    """
    ids = list(event_ids)
    if len(ids) >= size:
        return ids
    events = WebhookEvent.__table__.c
    paused = select(Connection.id).where(Connection.lifecycle == "paused").scalar_subquery()
    query = (select(events.id).where(events.status == "queued", events.id.not_in(ids),
                                     events.connection_id.not_in(paused))
             .order_by(events.received_at, events.id).limit(size - len(ids)))
    return ids + list(db.session.scalars(query))


def stranded_ids(now, limit=1000, queue_idle=False):
    """Ids the sweeper should hand over again: stuck before a worker, due retries, expired leases.

    queue_idle: the queue holds no work, so queued events handed over IDLE_GRACE ago were lost
    with it (a Redis flush) and need not wait out QUEUED_GRACE. Small queries, each served by a
    (status, time) index, rather than one OR over all.
    """
    events = WebhookEvent.__table__.c
    paused = select(Connection.id).where(Connection.lifecycle == "paused").scalar_subquery()
    due = now + timedelta(seconds=QUEUED_GRACE_SECONDS - IDLE_GRACE_SECONDS) if queue_idle else now
    wanted = (
        and_(events.status == "received", events.received_at <= now - timedelta(seconds=RECEIVED_GRACE_SECONDS)),
        and_(events.status == "queued", events.next_attempt_at <= due),
        and_(events.status == "queued", events.next_attempt_at.is_(None),  # handed over before next_attempt_at was kept
             events.received_at <= now - timedelta(seconds=QUEUED_GRACE_SECONDS)),
        and_(events.status == "retry_scheduled", events.next_attempt_at <= now),
        and_(events.status == "processing", events.lease_expires_at < now),
    )
    found = []
    for condition in wanted:
        query = select(events.id).where(condition, events.connection_id.not_in(paused)).limit(limit)
        found.extend(db.session.scalars(query))
    return sorted(set(found))[:limit]


def end_dead_claims(alive, now):
    """End the leases of claims held by workers that stopped beating (not in `alive`); how many.

    Their events become claimable at once. A worker that is only slow keeps beating, and if its
    heartbeat was merely lost, its claim token still guards every write it makes.
    """
    table = WebhookEvent.__table__
    dead = table.c.claimed_by.is_not(None)
    if alive:
        dead = dead & table.c.claimed_by.not_in(sorted(alive))
    result = db.session.execute(update(table).where(
        table.c.status == "processing", table.c.lease_expires_at > now, dead,
    ).values(lease_expires_at=now - timedelta(seconds=1)))
    db.session.commit()
    return result.rowcount


def abandon(token):
    """Give up a claim whose job failed midway; how many events it ended.

    Its events become claimable at once, instead of after the lease: the worker is alive, so its
    heartbeat would keep them held. If the database cannot be reached, the claim is ended later,
    by end_abandoned() in the periodic loop.
    """
    _abandoned.add(token)
    return end_abandoned()


def end_abandoned(now=None):
    """End the leases of the claims this process abandoned; how many events (0 while the database is away)."""
    tokens = sorted(_abandoned)
    if not tokens:
        return 0
    table = WebhookEvent.__table__
    try:
        db.session.rollback()  # whatever the failed job left of its transaction
        result = db.session.execute(update(table).where(
            table.c.claim_token.in_(tokens), table.c.status == "processing",
        ).values(lease_expires_at=(now or utcnow()) - timedelta(seconds=1)))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        return 0
    _abandoned.difference_update(tokens)
    return result.rowcount
