"""The production outbox relay: committed ids handed over in batches by a thread, off the request."""
import time

import pytest

from tests.factories import make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent
from zarts.services.ingest import outbox


@pytest.fixture
def relay_config(app_config):
    """As in production: no synchronous hand-off; jobs in-process (no Redis) so the end is visible."""
    app_config.update(OUTBOX_SYNC=False, REDIS_URL=None)
    return app_config


def post_burst(app, n):
    connection, secret = make_connection("github")
    client, ids = app.test_client(), []
    for _ in range(n):
        body, headers = signed_delivery("github", secret)
        ids.append(client.post(connection.ingest_path, data=body, headers=headers).get_json()["event_id"])
    return ids


def wait_for_statuses(ids, wanted, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        found = sorted(db.session.scalars(db.select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))))
        if found == sorted(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_burst_is_handed_over_in_few_batches_after_the_answers(relay_config, app, monkeypatch):
    calls, real = [], outbox.hand_over
    monkeypatch.setattr(outbox, "hand_over", lambda ids: calls.append(list(ids)) or real(ids))
    ids = post_burst(app, 12)
    assert wait_for_statuses(ids, ["normalized"] * 12) == ["normalized"] * 12
    assert sorted(i for batch in calls for i in batch) == sorted(ids)  # each exactly once
    assert len(calls) <= 3  # gathered over the relay's window, not one job per delivery
    assert app.extensions["zarts_outbox"].pending == []


def test_a_failed_hand_over_leaves_its_events_for_the_sweeper_and_the_relay_goes_on(relay_config, app, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import update

    from zarts.models import utcnow
    from zarts.services.pipeline import sweeper

    calls, real = [], outbox.hand_over

    def fail_first(ids):
        calls.append(list(ids))
        if len(calls) == 1:
            raise RuntimeError("the queue fell over")
        return real(ids)

    monkeypatch.setattr(outbox, "hand_over", fail_first)
    first = post_burst(app, 1)
    assert wait_for_statuses(first, ["received"], timeout=1) == ["received"]
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    later = post_burst(app, 2)
    assert wait_for_statuses(later, ["normalized"] * 2) == ["normalized"] * 2  # the relay survived
    table = WebhookEvent.__table__
    db.session.execute(update(table).where(table.c.id.in_(first)).values(received_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    assert sweeper.sweep()["handed_over"] == 1  # the database is the truth: nothing was lost
    assert wait_for_statuses(first, ["normalized"]) == ["normalized"]


def test_the_relay_thread_starts_again_in_a_forked_process(relay_config, app):
    relay = outbox.Relay(app)
    with app.app_context():
        relay.pid = -1  # as seen from the child of a fork: the parent's thread did not come along
        relay.notify(10**9)  # an id no event has: handing it over is a no-op
    assert relay.pid > 0
    deadline = time.monotonic() + 5
    while relay.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert relay.pending == []
