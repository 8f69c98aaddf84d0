"""The normalization pipeline end to end: endpoint -> job -> normalized records and metrics."""
import copy
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import deliver, drain, go_live, make_connection, make_user
from zarts.extensions import db
from zarts.models import (
    AdminTask,
    ConnectionMapping,
    MetricValue,
    NormalizedEvent,
    SyncError,
    WebhookEvent,
    utcnow,
)
from zarts.providers import definition
from zarts.services.pipeline import claims, records, replay, sweeper
from zarts.services.setup import lifecycle


def sample(provider_key, event_type):
    return copy.deepcopy(definition(provider_key)["samples"][event_type])


def event_of(response):
    db.session.expire_all()
    return db.session.get(WebhookEvent, response.get_json()["event_id"])


def test_a_stripe_charge_becomes_a_payment_with_revenue(app, client):
    connection, secret = make_connection("stripe", live=True)
    event = event_of(deliver(client, connection, secret, "charge.succeeded"))
    assert event.status == "normalized" and event.outcome == "created" and event.attempts == 1
    record = event.normalized_event
    payload = sample("stripe", "charge.succeeded")
    assert (record.object_type, record.external_id) == ("payment", payload["data"]["object"]["id"])
    assert record.status == "paid" and record.source == "webhook"
    revenue = db.session.scalar(db.select(MetricValue).filter_by(normalized_event_id=record.id, name="revenue"))
    assert revenue.value * 100 == payload["data"]["object"]["amount"]


def test_every_shipped_sample_normalizes(app, client):
    for provider_key in ("stripe", "shopify", "github", "standard_webhooks"):
        connection, secret = make_connection(provider_key)
        for event_type in definition(provider_key)["samples"]:
            event = event_of(deliver(client, connection, secret, event_type))
            assert event.status == "normalized", (provider_key, event_type, event.status_reason)


def test_a_newer_event_updates_and_replaces_the_metric(app, client):
    connection, secret = make_connection("stripe", live=True)
    created = sample("stripe", "customer.subscription.created")
    deleted = sample("stripe", "customer.subscription.deleted")
    deleted["data"]["object"]["id"] = created["data"]["object"]["id"]
    deleted["created"] = created["created"] + 3600
    first = event_of(deliver(client, connection, secret, payload=created))
    second = event_of(deliver(client, connection, secret, payload=deleted))
    assert (first.outcome, second.outcome) == ("created", "updated")
    assert first.normalized_event_id == second.normalized_event_id
    values = db.session.scalars(db.select(MetricValue).filter_by(name="active_subscriptions")).all()
    assert [v.value for v in values] == [0]
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 1


def test_an_older_event_arriving_late_does_not_overwrite_newer_state(app, client):
    connection, secret = make_connection("stripe")
    created = sample("stripe", "customer.subscription.created")
    deleted = sample("stripe", "customer.subscription.deleted")
    deleted["data"]["object"]["id"] = created["data"]["object"]["id"]
    deleted["created"] = created["created"] + 3600
    newer = event_of(deliver(client, connection, secret, payload=deleted))
    older = event_of(deliver(client, connection, secret, payload=created))
    assert older.status == "normalized" and older.outcome == "stale"
    record = db.session.get(NormalizedEvent, newer.normalized_event_id)
    assert record.status == newer.normalized_event.status != "active"


def test_unmapped_event_type_is_ignored_with_the_reason(app, client):
    connection, secret = make_connection("stripe")
    payload = sample("stripe", "charge.succeeded")
    payload["type"] = "customer.tax_id.created"
    event = event_of(deliver(client, connection, secret, payload=payload))
    assert event.status == "ignored"
    assert "no mapping for event type 'customer.tax_id.created'" in event.status_reason


def test_mapping_error_dead_letters_at_once_with_a_task_for_the_owner(app, client):
    connection, secret = make_connection("stripe")
    payload = sample("stripe", "charge.succeeded")
    del payload["data"]["object"]["id"]
    event = event_of(deliver(client, connection, secret, payload=payload))
    assert event.status == "dead_lettered" and event.attempts == 1
    error = db.session.scalar(db.select(SyncError).filter_by(webhook_event_id=event.id))
    assert error.stage == "map" and not error.transient
    task = db.session.scalar(db.select(AdminTask).filter_by(connection_id=connection.id))
    assert task.kind == "dead_letter" and task.assignee_id == connection.owner_id and task.status == "open"


def test_replay_after_a_mapping_fix_normalizes_the_dead_letter(app, client):
    connection, secret = make_connection("stripe")
    payload = sample("stripe", "charge.succeeded")
    payload["data"]["object"]["charge_ref"] = payload["data"]["object"].pop("id")
    event = event_of(deliver(client, connection, secret, payload=payload))
    assert event.status == "dead_lettered"
    fixed = copy.deepcopy(connection.provider.default_mapping)
    fixed["events"]["charge.succeeded"]["external_id"] = "data.object.charge_ref"
    db.session.add(ConnectionMapping(connection_id=connection.id, version=1, mapping=fixed))
    db.session.commit()
    assert replay.replay([event.id], reason="mapping fixed") == 1
    drain()
    db.session.expire_all()
    assert event.status == "normalized" and event.normalized_event.external_id == payload["data"]["object"]["charge_ref"]


class FlakyDatabase:
    """Stands in for the database failing the first `failures` writes (the outside world)."""

    def __init__(self, monkeypatch, failures):
        self.left = failures
        self.real = records.upsert
        monkeypatch.setattr(records, "upsert", self)

    def __call__(self, pairs, now):
        if self.left > 0:
            self.left -= 1
            raise OperationalError("INSERT", {}, Exception("Lock wait timeout exceeded"))
        return self.real(pairs, now)


def run_due_retry(event):
    """Time travel: make the scheduled retry due now, then let the sweeper hand it over."""
    event.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sweeper.sweep()["handed_over"] == 1
    drain()
    db.session.expire_all()


def test_a_transient_failure_retries_with_growing_delays_then_succeeds(app, client, monkeypatch):
    connection, secret = make_connection("github")
    FlakyDatabase(monkeypatch, failures=2)
    before = utcnow()
    event = event_of(deliver(client, connection, secret, "push"))
    assert event.status == "retry_scheduled" and event.attempts == 1
    first_delay = (event.next_attempt_at - before).total_seconds()
    assert 90 <= first_delay <= 150  # 2 min +-25%
    before = utcnow()
    run_due_retry(event)
    assert event.status == "retry_scheduled" and event.attempts == 2
    second_delay = (event.next_attempt_at - before).total_seconds()
    assert second_delay > first_delay * 2
    run_due_retry(event)
    assert event.status == "normalized" and event.attempts == 3
    errors = db.session.scalars(db.select(SyncError).filter_by(webhook_event_id=event.id)).all()
    assert [(e.attempt, e.transient, e.stage) for e in errors] == [(1, True, "upsert"), (2, True, "upsert")]


def test_transient_failures_dead_letter_when_attempts_run_out(app, client, monkeypatch):
    connection, secret = make_connection("github")
    connection.retry_max_attempts = 2
    db.session.commit()
    FlakyDatabase(monkeypatch, failures=10)
    event = event_of(deliver(client, connection, secret, "push"))
    run_due_retry(event)
    assert event.status == "dead_lettered" and "attempts exhausted" in event.status_reason


def test_paused_connection_holds_events_until_resumed(app, client):
    connection, secret = make_connection("shopify")
    admin = make_user("admin")
    go_live(connection, admin, metric_name="orders")
    lifecycle.transition(connection, "paused", admin, "the client asked us to hold it for a week")
    event = event_of(deliver(client, connection, secret, "orders/create"))
    assert event.status in ("received", "queued")
    event.received_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert sweeper.sweep()["handed_over"] == 0
    lifecycle.transition(connection, "active", admin)  # resumed: what waited is handed over at once
    assert sweeper.sweep()["handed_over"] == 1
    drain()
    db.session.expire_all()
    assert event.status == "normalized"


def test_sweeper_recovers_an_abandoned_claim(app, client):
    connection, secret = make_connection("github")
    event = event_of(deliver(client, connection, secret, "push"))
    event.status, event.normalized_event_id, event.outcome = "processing", None, None
    event.lease_expires_at = utcnow() - timedelta(seconds=1)  # the worker holding it died
    db.session.commit()
    assert sweeper.sweep()["handed_over"] == 1
    drain()
    db.session.expire_all()
    assert event.status == "normalized" and event.outcome == "unchanged" and event.attempts == 2
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 1


def test_a_claimed_event_cannot_be_claimed_twice(app, client):
    connection, secret = make_connection("github")
    event = event_of(deliver(client, connection, secret, "push"))
    event.status = "received"
    db.session.commit()
    token, ids = claims.claim([event.id])
    assert ids == [event.id]
    assert claims.claim([event.id])[1] == []


@pytest.mark.parametrize("status", ["normalized", "ignored", "dead_lettered"])
def test_final_events_are_not_claimed(app, client, status):
    connection, secret = make_connection("github")
    event = event_of(deliver(client, connection, secret, "push"))
    event.status = status
    db.session.commit()
    assert claims.claim([event.id])[1] == []


def test_saving_a_mapping_validates_versions_and_audits(app, client):
    from zarts.models import AdminAction
    from zarts.services import DomainError
    from zarts.services.mapping import versions

    connection, secret = make_connection("stripe")
    admin = connection.owner
    broken = {"version": 1, "events": {"charge.succeeded": {"object_type": "spaceship", "external_id": "id["}}}
    with pytest.raises(DomainError) as problem:
        versions.save_mapping(connection, broken, admin, "try")
    assert "charge.succeeded.object_type" in str(problem.value) and "invalid JMESPath" in str(problem.value)
    assert connection.mappings == []
    fixed = copy.deepcopy(connection.provider.default_mapping)
    with pytest.raises(DomainError, match="nothing changed: this is the Stripe default"):
        versions.save_mapping(connection, fixed, admin, reason="start from the default")
    fixed["events"]["charge.succeeded"]["fields"]["note"] = "data.object.description"
    with pytest.raises(DomainError, match="say why the mapping changes"):
        versions.save_mapping(connection, fixed, admin, reason="  ")
    first = versions.save_mapping(connection, fixed, admin, reason="keep the description")
    with pytest.raises(DomainError, match="nothing changed: this is version 1, already in force"):
        versions.save_mapping(connection, fixed, admin, reason="again")
    assert first.version == 1 and first.reason == "keep the description"
    assert versions.effective_mapping(connection) == fixed
    actions = db.session.scalars(db.select(AdminAction).filter_by(action="mapping.save")).all()
    assert [a.after["version"] for a in actions] == [1]


def test_manual_update_lands_as_a_normalized_record_and_is_audited(app, client):
    from zarts.models import AdminAction
    from zarts.services import DomainError
    from zarts.services.pipeline import manual

    connection, _ = make_connection("manual_csv_import", live=True)
    with pytest.raises(DomainError):
        manual.manual_update(connection, connection.owner, "", "lead", "L-1")
    event = manual.manual_update(
        connection, connection.owner, "Client phoned in the signed deal", "lead", "L-9",
        status="won", fields={"name": "Dr. Ada"}, metrics=[{"name": "leads", "value": 1, "unit": "count"}],
    )
    record = event.normalized_event
    assert (record.source, record.external_id, record.status) == ("manual", "L-9", "won")
    assert event.status == "normalized" and event.source == "manual"
    assert db.session.scalar(db.select(MetricValue.value).filter_by(normalized_event_id=record.id)) == 1
    action = db.session.scalar(db.select(AdminAction).filter_by(action="manual.update"))
    assert action.actor_id == connection.owner_id and action.reason.startswith("Client phoned")


def test_cli_events_shows_status_attempts_and_the_normalized_record(app, client, runner):
    import json

    connection, secret = make_connection("github")
    deliver(client, connection, secret, "push")
    result = runner.invoke(args=["zarts", "events", "--connection", str(connection.id), "--json"])
    [event] = json.loads(result.output)["events"]
    assert event["status"] == "normalized" and event["attempts"] == 1
    assert event["normalized_record"]["object_type"] == "delivery"
