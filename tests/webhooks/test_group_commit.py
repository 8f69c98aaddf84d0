"""Concurrent deliveries share one transaction and commit; each still gets its own honest answer."""
import json
import threading
import time

import pytest
from sqlalchemy.exc import DataError, OperationalError

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
    return deliver_all_to(app, [(path, delivery) for delivery in deliveries])


def deliver_all_to(app, targets, leader_may_die=False):
    """deliver_all with a path per delivery: [(path, (body, headers)), ...]; the second one leads
    the group the rest join (a leader killed by a BaseException leaves its answer None)."""
    answers = [None] * len(targets)

    def post(i):
        path, (body, headers) = targets[i]
        try:
            response = app.test_client().post(path, data=body, headers=headers)
        except BaseException:
            if not leader_may_die:
                raise
            return
        answers[i] = (response.status_code, response.get_json(), response.headers.get("Retry-After"))

    first = threading.Thread(target=post, args=(0,))
    first.start()
    deadline = time.monotonic() + 10
    while "zarts_ingest_group" not in app.extensions or not app.extensions["zarts_ingest_group"].writing:
        assert time.monotonic() < deadline, "the first delivery never started writing"
        time.sleep(0.001)
    rest = [threading.Thread(target=post, args=(i,)) for i in range(1, len(targets))]
    for thread in rest:
        thread.start()
    for thread in [first, *rest]:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a delivery did not finish within 30 s"
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


def test_a_failed_group_tries_each_member_alone_and_those_that_store_answer_202(app, monkeypatch, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("github")
    deliveries = [signed_delivery("github", secret) for _ in range(5)]
    state["expected"] = 4
    write_once = group_commit._write_once

    def fail_the_group(conn, batch):
        result = write_once(conn, batch)
        if len(batch) > 1:  # the group's transaction dies after its inserts; written alone they store
            raise OperationalError("INSERT", {}, Exception("server has gone away"))
        return result

    monkeypatch.setattr(group_commit, "_write_once", fail_the_group)
    answers = deliver_all(app, connection.ingest_path, deliveries)
    assert calls == [1, 4, 1, 1, 1, 1]
    assert [code for code, _, _ in answers] == [202] * 5
    _assert_every_202_is_stored(deliveries, answers)


def test_a_poisoned_member_fails_alone_and_the_rest_of_its_group_stores(app, monkeypatch, first_group_waits):
    calls, state = first_group_waits
    ours, our_secret = make_connection("github")
    theirs, their_secret = make_connection("standard_webhooks")  # another client's connection
    poison = signed_delivery("github", our_secret, msg_id="poison")
    others = [signed_delivery("standard_webhooks", their_secret) for _ in range(4)]
    state["expected"] = 4
    write_once = group_commit._write_once

    def poisoned(conn, batch):
        if any(d.event["dedupe_key"] == "poison" for d in batch):
            raise DataError("INSERT", {}, Exception("this row cannot be stored"))
        return write_once(conn, batch)

    monkeypatch.setattr(group_commit, "_write_once", poisoned)
    first = signed_delivery("standard_webhooks", their_secret)
    answers = deliver_all_to(app, [(theirs.ingest_path, first), (ours.ingest_path, poison),
                                   *[(theirs.ingest_path, d) for d in others]])
    assert answers[1][0] == 503  # the poisoned one alone: not stored, so the provider retries
    assert [code for code, _, _ in answers[2:]] == [202] * 4
    _assert_every_202_is_stored([first, poison, *others], answers)


def test_a_lone_surrogate_in_the_type_or_id_is_stored_safely_even_inside_a_group(app, first_group_waits):
    calls, state = first_group_waits
    stripe, stripe_secret = make_connection("stripe")
    leads, leads_secret = make_connection("standard_webhooks")
    bad_stripe = signed_delivery("stripe", stripe_secret, payload=json.loads(
        '{"id": "evt_\\ud800x", "type": "charge.\\udfffsucceeded", "livemode": true, "data": {"object": {}}}'))
    bad_lead = signed_delivery("standard_webhooks", leads_secret, payload=json.loads(
        '{"type": "lead.\\ud800", "data": {"id": "l1"}}'))
    assert b"\\ud800" in bad_stripe[0] and b"\\ud800" in bad_lead[0]  # JSON escapes, as a sender writes them
    goods = [signed_delivery("standard_webhooks", leads_secret) for _ in range(3)]
    state["expected"] = 4
    answers = deliver_all_to(app, [(leads.ingest_path, goods[0]), (stripe.ingest_path, bad_stripe),
                                   (leads.ingest_path, bad_lead), *[(leads.ingest_path, d) for d in goods[1:]]])
    assert [code for code, _, _ in answers] == [202] * 5
    _assert_every_202_is_stored([goods[0], bad_stripe, bad_lead, *goods[1:]], answers)
    event = db.session.get(WebhookEvent, answers[1][1]["event_id"])
    assert event.event_type == "charge.\ufffdsucceeded" and event.dedupe_key.startswith("sha256:")
    assert db.session.get(WebhookEvent, answers[2][1]["event_id"]).event_type == "lead.\ufffd"
    again = app.test_client().post(stripe.ingest_path, data=bad_stripe[0], headers=bad_stripe[1])
    assert (again.status_code, again.get_json()["event_id"]) == (200, event.id)  # still deduped


class Killed(BaseException):
    """What a worker timeout (SystemExit) or a gevent Timeout looks like to the leader."""


def test_a_leader_killed_after_its_insert_answers_no_202_without_a_row(app, monkeypatch, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("standard_webhooks")
    deliveries = [signed_delivery("standard_webhooks", secret) for _ in range(4)]
    state["expected"] = 3
    write_once = group_commit._write_once

    def killed_after_insert(conn, batch):
        result = write_once(conn, batch)
        if len(batch) > 1:
            raise Killed()
        return result

    monkeypatch.setattr(group_commit, "_write_once", killed_after_insert)
    answers = deliver_all_to(app, [(connection.ingest_path, d) for d in deliveries], leader_may_die=True)
    assert answers[0][0] == 202
    assert sum(1 for a in answers[1:] if a is None) == 1  # the group's leader was killed: no answer
    assert [a[0] for a in answers[1:] if a is not None] == [202, 202]  # its followers stored alone
    _assert_every_202_is_stored(deliveries, answers)
    assert sum(1 for a in answers if a and a[0] == 202) == db.session.scalar(db.select(db.func.count(WebhookEvent.id)))


def test_a_database_that_is_down_answers_503_to_every_member_and_stores_nothing(app, monkeypatch, first_group_waits):
    calls, state = first_group_waits
    connection, secret = make_connection("github")
    deliveries = [signed_delivery("github", secret) for _ in range(5)]
    state["expected"] = 4
    write_once = group_commit._write_once

    def down_after_first(conn, batch):
        if calls:  # the first delivery's write is done: from now on the database is down
            raise OperationalError("INSERT", {}, Exception("server has gone away"))
        return write_once(conn, batch)

    monkeypatch.setattr(group_commit, "_write_once", down_after_first)
    answers = deliver_all(app, connection.ingest_path, deliveries)
    assert answers[0][0] == 202
    assert [(code, retry is not None) for code, _, retry in answers[1:]] == [(503, True)] * 4
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == 1
    monkeypatch.setattr(group_commit, "_write_once", write_once)
    body, headers = signed_delivery("github", secret)  # the group recovers at once
    assert app.test_client().post(connection.ingest_path, data=body, headers=headers).status_code == 202


def _assert_every_202_is_stored(deliveries, answers):
    db.session.rollback()
    for (body, _), answer in zip(deliveries, answers):
        if answer and answer[0] == 202:
            raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=answer[1]["event_id"]))
            assert raw is not None and bytes(raw.body) == body


def test_a_lone_delivery_gives_its_connection_back(app):
    connection, secret = make_connection("shopify")
    body, headers = signed_delivery("shopify", secret)
    assert app.test_client().post(connection.ingest_path, data=body, headers=headers).status_code == 202
    assert app.extensions["zarts_ingest_group"].conn is None  # back in the pool, not held
