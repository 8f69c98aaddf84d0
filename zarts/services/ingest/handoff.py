"""Hand committed events to normalization, as jobs of up to BATCH_SIZE ids each."""
from datetime import timedelta

from sqlalchemy import update

from ... import dispatch
from ...extensions import db
from ...models import WebhookEvent, utcnow
from . import write_lock

BATCH_SIZE = 200
# A queued event no worker has taken after this long is handed over again (pipeline.sweeper).
QUEUED_GRACE_SECONDS = 600


def hand_over(event_ids):
    """Hand these committed events to normalization; True when handed over.

    Without Redis the batch is normalized right here (see zarts.dispatch). With Redis the events
    are marked `queued` until QUEUED_GRACE from now; a failed enqueue leaves them `received` in
    the database, where the sweeper finds them.
    """
    event_ids = list(event_ids)
    if not event_ids:
        return True
    batches = [(event_ids[start:start + BATCH_SIZE],) for start in range(0, len(event_ids), BATCH_SIZE)]
    if not dispatch.submit_many("normalize_events", batches):
        return False
    if dispatch.queued():
        table = WebhookEvent.__table__
        with write_lock.exclusive(db.engine):
            db.session.execute(update(table).where(table.c.id.in_(event_ids), table.c.status.in_(("received", "queued")))
                               .values(status="queued", next_attempt_at=utcnow() + timedelta(seconds=QUEUED_GRACE_SECONDS)))
            db.session.commit()
    return True
