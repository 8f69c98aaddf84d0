"""Inline actions on events through HTTP with htmx: the fragment, the database change, the audit row."""
import json
import re

import pytest
from sqlalchemy import update

from tests.admin.helpers import FIXED_MAPPING, HX, audit_rows, deliver_broken, deliver_ok, event, sync_errors
from tests.factories import PASSWORD, drain, make_user
from zarts.extensions import db
from zarts.models import WebhookEvent
from zarts.services.mapping import versions


def trigger(response):
    """The HX-Trigger events of a response, as a dict."""
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def post(client, event_id, action, ctx="row", **form):
    return client.post(f"/admin/events/{event_id}/{action}", data={"ctx": ctx, **form}, headers=HX)


def test_retry_now_from_the_list_after_a_mapping_fix(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    versions.save_mapping(connection, FIXED_MAPPING, admin, "use the event id")

    response = post(client, event_id, "retry")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="event-{event_id}"')  # the row, for hx-swap="outerHTML"
    assert trigger(response) == {"event-retried": event_id, "event-changed": event_id}
    [row] = audit_rows("event.retry", event_id)
    assert row.actor_id == admin.id and row.before["status"] == "dead_lettered" and row.after == {"status": "received"}
    drain()
    assert event(event_id).status == "normalized"
    assert len(sync_errors(event_id)) == 1  # the first failure stays in the history


def test_retry_now_runs_the_event_again(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    response = post(client, event_id, "retry", ctx="panel")
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<section id="event-status"')
    drain()
    assert event(event_id).status == "dead_lettered"  # still broken: a real second attempt failed
    assert len(sync_errors(event_id)) == 2
    assert len(audit_rows("event.retry", event_id)) == 1


def test_retry_of_a_normalized_event_is_refused_in_the_fragment(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret)
    response = post(client, event_id, "retry")
    assert response.status_code == 200  # htmx swaps only 2xx: the error must come back in the fragment
    assert "an event that is normalized cannot be retried" in response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers
    assert audit_rows("event.retry") == []


def test_ignore_with_a_reason_from_the_detail_panel(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)

    response = post(client, event_id, "ignore", ctx="panel", reason="Test charge from the <b>sandbox</b>")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="event-status"') and "status-ignored" in html
    assert "&lt;b&gt;sandbox&lt;/b&gt;" in html and "<b>sandbox" not in html
    assert trigger(response)["event-ignored"] == event_id
    assert event(event_id).status == "ignored"
    assert "Test charge from the <b>sandbox</b>" in event(event_id).status_reason
    [row] = audit_rows("event.ignore", event_id)
    assert row.reason == "Test charge from the <b>sandbox</b>" and row.before == {"status": "dead_lettered"}


@pytest.mark.parametrize("ctx, fragment", [("row", "<tr id"), ("panel", '<section id="event-status"')])
def test_ignore_without_a_reason_reopens_the_form_with_the_error(client, admin, stripe, ctx, fragment):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)

    response = post(client, event_id, "ignore", ctx=ctx, reason="   ")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(fragment)
    assert "a reason is required to ignore an event" in html
    assert re.search(r'<details class="inline-form" open>\s*<summary class="btn btn-small">Ignore…', html)
    assert "HX-Trigger" not in response.headers
    assert event(event_id).status == "dead_lettered"
    assert audit_rows("event.ignore") == []


def test_ignoring_a_normalized_event_is_a_domain_error(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret)
    response = post(client, event_id, "ignore", reason="not needed")
    assert response.status_code == 200
    assert "an event that is normalized cannot be ignored" in response.get_data(as_text=True)
    assert event(event_id).status == "normalized"
    assert audit_rows("event.ignore") == []


def test_replay_normalizes_again_from_the_raw_bytes(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret)

    response = post(client, event_id, "replay", reason="mapping changed")

    assert response.status_code == 200
    assert f'<tr id="event-{event_id}"' in response.get_data(as_text=True)
    assert trigger(response)["event-replayed"] == event_id
    [row] = audit_rows("event.replay", event_id)
    assert row.before == {"status": "normalized", "attempts": 1} and row.reason == "mapping changed"
    drain()
    replayed = event(event_id)
    assert replayed.status == "normalized" and replayed.outcome == "unchanged" and replayed.attempts == 1


def test_replay_of_an_event_in_processing_is_refused(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret)
    stuck = event(event_id)
    stuck.status = "processing"
    db.session.commit()
    response = post(client, event_id, "replay")
    assert "an event that is processing cannot be replayed" in response.get_data(as_text=True)
    assert audit_rows("event.replay") == []


def test_resolve_manually_with_a_reason(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)

    response = post(client, event_id, "resolve", reason="Entered the payment by hand")

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "status-resolved_manually" in html
    assert trigger(response) == {"event-resolved": event_id, "event-changed": event_id}
    assert event(event_id).status == "resolved_manually"
    [row] = audit_rows("event.resolve_manually", event_id)
    assert row.reason == "Entered the payment by hand" and row.actor_id == admin.id
    # A resolved event offers no more actions.
    assert "Retry now" not in html and "Resolve by hand" not in html


def test_resolve_without_a_reason_is_refused(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    response = post(client, event_id, "resolve", ctx="panel", reason="")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "a reason is required to resolve an event by hand" in html
    assert re.search(r'<details class="inline-form" open>\s*<summary class="btn btn-small">Resolve by hand…', html)
    assert event(event_id).status == "dead_lettered"
    assert audit_rows("event.resolve_manually") == []


def test_actions_without_htmx_redirect_to_the_detail_with_a_flash(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)

    response = client.post(f"/admin/events/{event_id}/ignore", data={"reason": ""})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/events/{event_id}"
    assert "a reason is required" in client.get(f"/admin/events/{event_id}").get_data(as_text=True)

    response = client.post(f"/admin/events/{event_id}/ignore", data={"reason": "duplicate of a manual entry"},
                           follow_redirects=True)
    assert response.status_code == 200 and f"Event {event_id}: ignored." in response.get_data(as_text=True)
    assert event(event_id).status == "ignored"


def test_destructive_controls_ask_for_confirmation(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    for html in (client.get("/admin/events").get_data(as_text=True),
                 client.get(f"/admin/events/{event_id}").get_data(as_text=True)):
        for endpoint in ("ignore", "resolve", "replay"):
            form = re.search(rf'<form[^>]*hx-post="/admin/events/{event_id}/{endpoint}"[^>]*>', html).group(0)
            assert "hx-confirm=" in form, endpoint


def test_unknown_event_is_404(client, admin):
    for action in ("retry", "ignore", "replay", "resolve"):
        assert client.post(f"/admin/events/999999/{action}", headers=HX).status_code == 404


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_htmx_post_needs_the_page_token(self, client, stripe):
        user = make_user("admin")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        connection, secret = stripe
        event_id = deliver_broken(client, connection, secret)

        refused = client.post(f"/admin/events/{event_id}/retry", data={"ctx": "row"}, headers=HX)
        assert refused.status_code == 400
        assert event(event_id).status == "dead_lettered" and audit_rows("event.retry") == []

        page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
        token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
        accepted = client.post(f"/admin/events/{event_id}/retry", data={"ctx": "row"},
                               headers={**HX, "X-CSRFToken": token})
        assert accepted.status_code == 200
        assert len(audit_rows("event.retry", event_id)) == 1


def test_the_timeline_shows_a_retry_between_the_attempts_it_restarted(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    post(client, event_id, "retry", ctx="panel")
    drain()
    html = client.get(f"/admin/events/{event_id}?part=history", headers=HX).get_data(as_text=True)
    timeline = re.sub(r"\s+", " ", html[html.index('<ol class="timeline">'):html.index("</ol>")])
    first, restart, last = (timeline.index("Attempt 1 failed"), timeline.index("Retry requested"),
                            timeline.rindex("Attempt 1 failed"))
    assert first < restart < last
    assert f"by {admin.display_name}" in timeline and "counting starts at 1 again" in timeline


NOTICE_RE = re.compile(r'<p class="action-notice" role="status">(.*?)</p>', re.S)
POLL_RE = re.compile(r'hx-get="([^"]*part=row[^"]*)"')


def notice(html):
    found = NOTICE_RE.search(html)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else None


def settled(client, html):
    """The row once its event is final: as answered when the job ran in the process (no Redis), else
    as its poll draws it after a worker (drain) ran the job. Never polling any more."""
    poll = POLL_RE.search(html)
    if poll:
        assert notice(html) == "Retried. Waiting for a worker; this updates when it is done."
        drain()
        html = client.get(poll.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert not POLL_RE.search(html)
    return html


def test_retry_now_in_the_row_says_what_it_did_and_what_came_of_it(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    versions.save_mapping(connection, FIXED_MAPPING, admin, "use the event id")
    html = settled(client, post(client, event_id, "retry").get_data(as_text=True))
    assert notice(html) == "Retried. Normalized: its record is up to date."


def test_a_retry_that_fails_again_says_so_in_the_row(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    text = notice(settled(client, post(client, event_id, "retry").get_data(as_text=True)))
    assert text.startswith("Retried. It failed again and is dead-lettered: ") and "permanent error" in text


def test_a_row_waiting_for_a_worker_polls_until_the_event_is_final(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret)
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(status="queued"))
    db.session.commit()
    html = client.get(f"/admin/events/{event_id}?part=row&done=Retried", headers=HX).get_data(as_text=True)
    assert notice(html) == "Retried. Waiting for a worker; this updates when it is done."
    assert f'hx-get="/admin/events/{event_id}?part=row&amp;done=Retried"' in html and 'hx-trigger="every 2s"' in html
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(status="normalized"))
    db.session.commit()
    html = client.get(f"/admin/events/{event_id}?part=row&done=Retried", headers=HX).get_data(as_text=True)
    assert notice(html) == "Retried. Normalized: its record is up to date." and "every 2s" not in html


@pytest.mark.parametrize("action, form, expected", [
    ("ignore", {"reason": "a test charge"}, "Ignored. It will not be processed again; it can still be replayed."),
    ("resolve", {"reason": "entered by hand"}, "Resolved by hand. It will not be processed again."),
])
def test_ignore_and_resolve_say_what_they_did_in_the_row_and_the_panel(client, admin, stripe, action, form, expected):
    connection, secret = stripe
    for ctx in ("row", "panel"):
        event_id = deliver_broken(client, connection, secret)
        assert notice(post(client, event_id, action, ctx=ctx, **form).get_data(as_text=True)) == expected


def test_a_permanent_error_is_not_shown_as_attempt_1_of_5(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    assert "permanent error" in event(event_id).status_reason
    html = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    attempts = re.search(r"<dt>Attempts</dt><dd>(.*?)</dd>", html).group(1)
    assert attempts.startswith("1: not retried, permanent error") and " of " not in attempts
