"""Concurrent deliveries share one transaction and commit; each still gets its own honest answer."""
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import RawEvent, SyncError, WebhookEvent
from zarts.services.ingest import group_commit


@pytest.fixture
def first_group_waits(app, monkeypatch):
    """Hold the first group's write until `expected` more deliveries wait, so they form one group."""
    calls, state = [], {"expected": 0}
    write_once = group_commit._write_once

    def slow_first(conn, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            group = app.extensions["zarts_ingest_group"]
            deadline = time.monotonic() + 10
            while len(group.pending) < state["expected"] and time.monotonic() < deadline:
                time.sleep(0.005)
        return write_once(conn, batch)

    monkeypatch.setattr(group_commit, "_write_once", slow_first)
    return calls, state


def deliver_all(app, path, deliveries):
    """POST each (body, headers) from its own thread; the first one alone, the rest once it writes."""
    answers = [None] * len(deliveries)

    def post(i):
        body, headers = deliveries[i]
        response = app.test_client().post(path, data=body, headers=headers)
        answers[i] = (response.status_code, response.get_json(), response.headers.get("Retry-After"))

    first = threading.Thread(target=post, args=(0,))
    first.start()
    while "zarts_ingest_group" not in app.extensions or not app.extensions["zarts_ingest_group"].writing:
        time.sleep(0.001)
    rest = [threading.Thread(target=post, args=(i,)) for i in range(1, len(deliveries))]
    for thread in rest:
        thread.start()
    for thread in [first, *rest]:
        thread.join(timeout=30)
    db.session.rollback()  # a fresh snapshot for the checks
    return answers


def test_waiting_deliveries_are_written_as_one_group(app, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("standard_webhooks")
    deliveries = [signed_delivery("standard_webhooks", secret, payload={"type": "lead.created", "data": {"id": f"l{i}"}})
                  for i in range(12)]
    state["expected"] = 11
    answers = deliver_all(app, connection.ingest_path, deliveries)
    assert [code for code, _, _ in answers] == [202] * 12
    assert calls == [1, 11]
    for (body, _), (_, answer, _) in zip(deliveries, answers):
        raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=answer["event_id"]))
        assert bytes(raw.body) == body
        assert db.session.get(WebhookEvent, answer["event_id"]).payload_summary["body_size"] == len(body)


def test_duplicates_inside_a_group_count_against_the_first(app, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("standard_webhooks")
    a = signed_delivery("standard_webhooks", secret, msg_id="msg_a")
    b = signed_delivery("standard_webhooks", secret, msg_id="msg_b")
    bad = signed_delivery("standard_webhooks", secret, payload=b'{"id": "x", "oops":', msg_id="msg_bad")
    deliveries = [a, a, b, b, b, bad, a]
    state["expected"] = 6
    answers = deliver_all(app, connection.ingest_path, deliveries)
    assert calls == [1, 6]
    by_id = {}
    for (_, headers), (code, answer, _) in zip(deliveries, answers):
        by_id.setdefault(headers["webhook-id"], []).append((code, answer["event_id"]))
    for msg_id, copies in (("msg_a", 3), ("msg_b", 3)):
        codes = sorted(code for code, _ in by_id[msg_id])
        assert codes == [200] * (copies - 1) + [202]
        [event_id] = {event_id for _, event_id in by_id[msg_id]}
        assert db.session.get(WebhookEvent, event_id).duplicate_count == copies - 1
    [(code, bad_id)] = by_id["msg_bad"]
    assert code == 400
    assert db.session.scalar(db.select(SyncError.webhook_event_id).filter_by(stage="parse")) == bad_id
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == 3
    assert db.session.scalar(db.select(db.func.count(RawEvent.id))) == 3


def test_a_failed_group_answers_503_to_every_member_and_stores_nothing(app, monkeypatch, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("github")
    deliveries = [signed_delivery("github", secret) for _ in range(5)]
    state["expected"] = 4
    write_once = group_commit._write_once

    def fail_second(conn, batch):
        result = write_once(conn, batch)
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("server has gone away"))
        return result

    monkeypatch.setattr(group_commit, "_write_once", fail_second)
    answers = deliver_all(app, connection.ingest_path, deliveries)
    assert answers[0][0] == 202
    assert [(code, retry is not None) for code, _, retry in answers[1:]] == [(503, True)] * 4
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == 1
    assert db.session.scalar(db.select(db.func.count(RawEvent.id))) == 1
    body, headers = signed_delivery("github", secret)  # the group recovers at once
    assert app.test_client().post(connection.ingest_path, data=body, headers=headers).status_code == 202


def test_a_lone_delivery_gives_its_connection_back(app):
    connection, secret = make_connection("shopify")
    body, headers = signed_delivery("shopify", secret)
    assert app.test_client().post(connection.ingest_path, data=body, headers=headers).status_code == 202
    assert app.extensions["zarts_ingest_group"].conn is None  # back in the pool, not held
