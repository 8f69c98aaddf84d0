"""Bulk retry: count what the filter matches, confirm, run as a job in keyset batches, report progress."""
import re

import pytest
from sqlalchemy import select

from tests.admin.helpers import FIXED_MAPPING, HX, audit_rows, deliver_broken, deliver_ok, event, sync_errors
from tests.factories import drain, make_connection
from zarts.extensions import db
from zarts.jobs.bulk import run_bulk_operation
from zarts.models import BulkOperation, utcnow
from zarts.services.console import bulk
from zarts.services.mapping import versions

POLLING = "hx-trigger=\"every 1s\""


def operations():
    db.session.expire_all()
    return list(db.session.scalars(select(BulkOperation).order_by(BulkOperation.id)))


def progress(client, operation_id):
    response = client.get(f"/admin/bulk/{operation_id}", headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def failures(client, stripe):
    """Three dead letters and one normalized event on one connection."""
    connection, secret = stripe
    dead = [deliver_broken(client, connection, secret) for _ in range(3)]
    deliver_ok(client, connection, secret)
    return connection, secret, dead


def test_count_shows_how_many_can_be_retried_with_a_confirm_button(client, admin, failures):
    connection, _, dead = failures
    response = client.get(f"/admin/events/bulk-retry?connection={connection.id}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert re.search(r'<strong class="bulk-number">3</strong>\s*matching events can be retried', html)
    assert 'hx-confirm="Retry 3 events now?"' in html
    assert f'name="connection" value="{connection.id}"' in html  # the filter goes along with the POST
    assert operations() == []  # counting starts nothing

    html = client.get("/admin/events/bulk-retry?status=normalized", headers=HX).get_data(as_text=True)
    assert "No event matching this filter can be retried" in html


def test_count_with_an_invalid_filter_shows_the_message(client, admin):
    html = client.get("/admin/events/bulk-retry?status=nope", headers=HX).get_data(as_text=True)
    assert "status: &#39;nope&#39; is not one of" in html and "hx-post" not in html


def test_explorer_offers_bulk_retry_for_the_current_filter(client, admin, failures):
    html = client.get("/admin/events?status=dead_lettered").get_data(as_text=True)
    assert 'hx-get="/admin/events/bulk-retry?status=dead_lettered"' in html
    assert 'hx-target="#bulk-panel"' in html


def test_bulk_retry_runs_and_finishes_with_progress(client, admin, failures):
    connection, secret, dead = failures
    other, other_secret = make_connection("stripe")
    untouched = deliver_broken(client, other, other_secret)  # outside the filter
    versions.save_mapping(connection, FIXED_MAPPING, admin, "use the event id")

    response = client.post("/admin/events/bulk-retry", data={"connection": str(connection.id)}, headers=HX)

    assert response.status_code == 200
    [operation] = operations()
    assert (operation.kind, operation.total, operation.actor_id) == ("retry", 3, admin.id)
    assert operation.filters == {"connection": str(connection.id)}
    html = response.get_data(as_text=True)
    assert f'id="bulk-operation-{operation.id}"' in html
    if operation.status != "done":  # with a real queue the job is still waiting: the partial polls
        assert operation.status == "queued" and POLLING in html and 'hx-swap="outerHTML"' in html
    [started] = audit_rows("bulk.retry", operation.id)
    assert started.target_type == "bulk_operation" and started.after["total"] == 3

    drain()

    html = progress(client, operation.id)
    [operation] = operations()
    assert (operation.status, operation.done, operation.failed) == ("done", 3, 0)
    assert operation.started_at and operation.finished_at
    assert POLLING not in html and "hx-get" not in html  # final: it stops polling
    assert re.search(r'<span class="bulk-done">3</span> of 3 retried', html) and "bulk-status-done" in html
    for event_id in dead:
        assert event(event_id).status == "normalized"
        [row] = audit_rows("event.retry", event_id)
        assert row.reason == f"bulk retry #{operation.id}" and row.actor_id == admin.id
    assert event(untouched).status == "dead_lettered" and audit_rows("event.retry", untouched) == []


def test_bulk_retry_walks_in_keyset_batches(client, admin, stripe, monkeypatch):
    connection, secret = stripe
    dead = [deliver_broken(client, connection, secret) for _ in range(5)]
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    handed_over = []
    real_hand_over = bulk.hand_over
    monkeypatch.setattr(bulk, "hand_over", lambda ids: handed_over.append(list(ids)) or real_hand_over(ids))

    client.post("/admin/events/bulk-retry", data={"status": "dead_lettered"}, headers=HX)
    drain()

    [operation] = operations()
    assert (operation.status, operation.total, operation.done) == ("done", 5, 5)
    batches = [batch for batch in handed_over if set(batch) <= set(dead)]
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(sum(batches, [])) == sorted(dead)  # every event once: no gaps, no repeats
    for event_id in dead:
        assert len(sync_errors(event_id)) == 2  # each really ran again (and failed again)


def test_running_the_job_twice_changes_nothing(client, admin, failures):
    client.post("/admin/events/bulk-retry", data={"status": "dead_lettered"}, headers=HX)
    drain()
    [operation] = operations()
    before = (operation.status, operation.done, operation.failed, len(audit_rows("event.retry")))
    run_bulk_operation(operation.id)
    drain()
    [operation] = operations()
    assert (operation.status, operation.done, operation.failed, len(audit_rows("event.retry"))) == before


def test_events_that_changed_since_the_count_are_reported(client, admin, failures):
    connection, secret, dead = failures
    now = utcnow()
    operation = BulkOperation(kind="retry", filters={"status": "dead_lettered"}, total=4, actor_id=admin.id,
                              created_at=now, updated_at=now)
    db.session.add(operation)
    db.session.commit()
    run_bulk_operation(operation.id)
    drain()
    html = progress(client, operation.id)
    assert re.search(r'<span class="bulk-done">3</span> of 4 retried, 1 no longer needed a retry\.', html)


def test_progress_partial_polls_until_done(client, admin):
    now = utcnow()
    operation = BulkOperation(kind="retry", filters={}, total=10, done=4, status="running", actor_id=admin.id,
                              created_at=now, updated_at=now)
    db.session.add(operation)
    db.session.commit()

    html = progress(client, operation.id)
    assert POLLING in html and 'hx-swap="outerHTML"' in html
    assert f'hx-get="/admin/bulk/{operation.id}"' in html and 'value="40"' in html

    operation.status, operation.done, operation.finished_at = "done", 10, utcnow()
    db.session.commit()
    response = client.get(f"/admin/bulk/{operation.id}", headers=HX)
    assert POLLING not in response.get_data(as_text=True)
    assert "bulk-finished" in response.headers["HX-Trigger"]


def test_invalid_or_empty_filter_starts_nothing(client, admin, failures):
    response = client.post("/admin/events/bulk-retry", data={"status": "bogus"}, headers=HX)
    assert response.status_code == 200 and "is not one of" in response.get_data(as_text=True)
    response = client.post("/admin/events/bulk-retry", data={"status": "normalized"}, headers=HX)
    assert "no event matching this filter can be retried" in response.get_data(as_text=True)
    assert operations() == [] and audit_rows("bulk.retry") == []


def test_without_htmx_the_post_redirects_to_the_progress_page(client, admin, failures):
    response = client.post("/admin/events/bulk-retry", data={"status": "dead_lettered"})
    [operation] = operations()
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/bulk/{operation.id}"
    drain()
    page = client.get(f"/admin/bulk/{operation.id}")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert client.get("/admin/events/bulk-retry?status=dead_lettered").status_code == 200  # full page too


def test_unknown_operation_is_404(client, admin):
    assert client.get("/admin/bulk/999999", headers=HX).status_code == 404
