"""The event explorer and the event detail page, driven through HTTP with real deliveries."""
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import Select, update
from sqlalchemy import event as sa_event

from tests.admin.helpers import HX, audit_rows, deliver_broken, deliver_ok, event
from tests.factories import make_client, make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import NormalizedEvent, WebhookEvent
from zarts.services.console import events as event_service

ROW_ID = re.compile(r'<tr id="event-(\d+)"')
LOAD_MORE = re.compile(r'hx-get="(/admin/events\?[^"]*cursor=[^"]*)"')


def row_ids(html):
    return [int(i) for i in ROW_ID.findall(html)]


def set_received(event_id, when):
    db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(received_at=when))
    db.session.commit()


def test_explorer_lists_events_newest_first_with_their_facts(client, admin, stripe):
    connection, secret = stripe
    ok = deliver_ok(client, connection, secret, msg_id="evt_dup_1")
    deliver_ok_again = client.post(connection.ingest_path, data=signed_delivery("stripe", secret, msg_id="evt_dup_1")[0],
                                   headers=signed_delivery("stripe", secret, msg_id="evt_dup_1")[1])
    assert deliver_ok_again.status_code == 200  # a duplicate delivery: counted on the original
    broken = deliver_broken(client, connection, secret)

    html = client.get("/admin/events").get_data(as_text=True)

    assert row_ids(html) == [broken, ok]
    ok_row = html[html.index(f'<tr id="event-{ok}"'):]
    ok_row = ok_row[:ok_row.index("</tr>")]
    assert f"{connection.client.name} · Stripe" in ok_row
    assert "charge.succeeded" in ok_row and "status-normalized" in ok_row
    assert re.search(r'<td data-label="Attempts" class="num">1</td>\s*<td data-label="Duplicates" class="num">1</td>',
                     ok_row)  # 1 attempt, 1 duplicate
    assert "status-dead_lettered" in html and "Retry now" in html


@pytest.mark.parametrize("status, expected", [("dead_lettered", "broken"), ("normalized", "ok")])
def test_status_filter(client, admin, stripe, status, expected):
    connection, secret = stripe
    ids = {"ok": deliver_ok(client, connection, secret), "broken": deliver_broken(client, connection, secret)}
    html = client.get(f"/admin/events?status={status}").get_data(as_text=True)
    assert row_ids(html) == [ids[expected]]
    assert f'<option value="{status}" selected>' in html  # the form shows the filter in force


def test_client_provider_and_connection_filters(client, admin, stripe):
    connection, secret = stripe
    other_client = make_client()
    other, other_secret = make_connection("standard_webhooks", client=other_client)
    mine = deliver_ok(client, connection, secret)
    theirs = deliver_ok(client, other, other_secret)

    assert row_ids(client.get(f"/admin/events?client={connection.client_id}").get_data(as_text=True)) == [mine]
    assert row_ids(client.get(f"/admin/events?client={other_client.id}").get_data(as_text=True)) == [theirs]
    assert row_ids(client.get("/admin/events?provider=stripe").get_data(as_text=True)) == [mine]
    assert row_ids(client.get("/admin/events?provider=standard_webhooks").get_data(as_text=True)) == [theirs]
    assert row_ids(client.get(f"/admin/events?connection={other.id}").get_data(as_text=True)) == [theirs]
    # Filters combine: this client has no standard_webhooks connection.
    html = client.get(f"/admin/events?client={connection.client_id}&provider=standard_webhooks").get_data(as_text=True)
    assert row_ids(html) == [] and "No events match these filters" in html


def test_event_type_filter_exact_and_prefix(client, admin, stripe):
    connection, secret = stripe
    charge = deliver_ok(client, connection, secret, "charge.succeeded")
    refund = deliver_ok(client, connection, secret, "charge.refunded")
    invoice = deliver_ok(client, connection, secret, "invoice.paid")

    assert row_ids(client.get("/admin/events?type=charge.refunded").get_data(as_text=True)) == [refund]
    assert row_ids(client.get("/admin/events?type=charge.*").get_data(as_text=True)) == [refund, charge]
    assert row_ids(client.get("/admin/events?type=invoice.paid").get_data(as_text=True)) == [invoice]
    # "_" and "%" are literal characters, not wildcards.
    assert row_ids(client.get("/admin/events?type=charge_*").get_data(as_text=True)) == []


def test_time_range_filter(client, admin, stripe):
    connection, secret = stripe
    old, middle, new = (deliver_ok(client, connection, secret) for _ in range(3))
    set_received(old, datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc))
    set_received(middle, datetime(2026, 1, 20, 8, 30, tzinfo=timezone.utc))
    set_received(new, datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc))

    assert row_ids(client.get("/admin/events?from=2026-01-15").get_data(as_text=True)) == [new, middle]
    assert row_ids(client.get("/admin/events?to=2026-01-20").get_data(as_text=True)) == [middle, old]  # whole day
    assert row_ids(client.get("/admin/events?from=2026-01-11&to=2026-01-31").get_data(as_text=True)) == [middle]
    html = client.get("/admin/events?from=2026-01-20T08:30&to=2026-01-20 08:31").get_data(as_text=True)
    assert row_ids(html) == [middle]


def test_search_by_event_id_dedupe_key_and_external_id(client, admin, stripe):
    connection, secret = stripe
    first = deliver_ok(client, connection, secret, "charge.succeeded", msg_id="evt_search_me")
    second = deliver_ok(client, connection, secret, "charge.refunded")  # same charge: same external id
    other = deliver_ok(client, connection, secret, "invoice.paid")
    external_id = db.session.get(NormalizedEvent, event(first).normalized_event_id).external_id

    assert row_ids(client.get(f"/admin/events?q={other}").get_data(as_text=True)) == [other]
    assert row_ids(client.get(f"/admin/events?q=%23{other}").get_data(as_text=True)) == [other]
    assert row_ids(client.get("/admin/events?q=evt_search_me").get_data(as_text=True)) == [first]
    by_external = client.get(f"/admin/events?q={external_id}").get_data(as_text=True)
    assert set(row_ids(by_external)) >= {first}
    assert other not in row_ids(by_external)
    assert row_ids(client.get("/admin/events?q=nothing-like-this").get_data(as_text=True)) == []
    # Search combines with the other filters.
    assert row_ids(client.get(f"/admin/events?q={other}&status=dead_lettered").get_data(as_text=True)) == []
    assert second  # delivered so the external id is shared by more than one event


@pytest.mark.parametrize("query, message", [
    ("status=bogus", "status: &#39;bogus&#39; is not one of"),
    ("client=abc", "client: &#39;abc&#39; is not an id"),
    ("client=999999", "there is no client with id 999999"),
    ("connection=999999", "there is no connection with id 999999"),
    ("provider=nope", "there is no provider &#39;nope&#39;"),
    ("from=yesterday", "from: &#39;yesterday&#39; is not a date"),
    ("to=2026-02-30", "to: &#39;2026-02-30&#39; is not a date"),
    ("from=2026-02-01&to=2026-01-01", "from: must be before &#39;to&#39;"),
    ("from=0001-01-01", "the year must be between"),
    ("q=" + "x" * 300, "search: at most 255 characters"),
    ("cursor=not-a-cursor", "the &#39;load more&#39; link is not valid"),
    ("cursor=1_", "the &#39;load more&#39; link is not valid"),
])
def test_invalid_filters_show_a_message_not_an_error(client, admin, stripe, query, message):
    connection, secret = stripe
    deliver_ok(client, connection, secret)
    for headers in ({}, HX):
        response = client.get(f"/admin/events?{query}", headers=headers)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert message in html
        assert row_ids(html) == []  # nothing is searched with a filter that is not understood
    assert "<script>" not in client.get("/admin/events?type=<script>x</script>").get_data(as_text=True)


class TestPages:
    """Keyset pages: three rows each, following "load more" as htmx does."""

    @pytest.fixture
    def app_config(self, app_config):
        """Small pages, so a few events span several."""
        app_config["ADMIN_PAGE_SIZE"] = 3
        return app_config

    @staticmethod
    def walk_pages(client, first_url):
        """Every row id over all pages, following "load more" as htmx does; and how many pages."""
        html = client.get(first_url).get_data(as_text=True)
        ids, pages = row_ids(html), 1
        while (match := LOAD_MORE.search(html)):
            html = client.get(match.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
            assert "<html" not in html  # a fragment: rows and the next "load more", no page
            ids += row_ids(html)
            pages += 1
        return ids, pages

    def test_keyset_pagination_has_no_duplicates_or_gaps(self, client, admin, stripe):
        connection, secret = stripe
        ids = [deliver_ok(client, connection, secret) for _ in range(5)]
        ids += [deliver_broken(client, connection, secret) for _ in range(3)]
        # Ties on received_at are broken by id: four events share one timestamp across a page boundary.
        same = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=timezone.utc)
        for event_id in ids[2:6]:
            set_received(event_id, same)
        expected = [e.id for e in sorted((event(i) for i in ids), key=lambda e: (e.received_at, e.id), reverse=True)]

        walked, pages = self.walk_pages(client, "/admin/events")
        assert walked == expected
        assert pages == 3

        # The cursor carries the filters along.
        walked, _ = self.walk_pages(client, "/admin/events?status=dead_lettered")
        assert walked == [i for i in expected if event(i).status == "dead_lettered"]

    def test_events_arriving_while_paging_do_not_shift_pages(self, client, admin, stripe):
        connection, secret = stripe
        ids = [deliver_ok(client, connection, secret) for _ in range(6)]
        html = client.get("/admin/events").get_data(as_text=True)
        assert row_ids(html) == ids[::-1][:3]
        deliver_ok(client, connection, secret)  # new events land on page one, not in the middle
        html = client.get(LOAD_MORE.search(html).group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
        assert row_ids(html) == ids[::-1][3:]

    def test_list_queries_use_no_offset_and_no_count(self, app, client, admin, stripe):
        connection, secret = stripe
        for _ in range(4):
            deliver_ok(client, connection, secret)
        statements = []

        def capture(conn, clause, multiparams, params, execution_options):
            statements.append(clause)

        sa_event.listen(db.engine, "before_execute", capture)
        try:
            html = client.get("/admin/events?status=normalized").get_data(as_text=True)
            client.get(LOAD_MORE.search(html).group(1).replace("&amp;", "&"), headers=HX)
        finally:
            sa_event.remove(db.engine, "before_execute", capture)
        selects = [s for s in statements if isinstance(s, Select)]
        assert any("event_webhook_events" in str(s) for s in selects)
        assert [s for s in selects if s._offset_clause is not None] == []
        assert [s for s in statements if "count(" in str(s).lower()] == []


def test_detail_of_a_dead_letter_shows_summary_and_attempts(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret, api_token="tok_hidden_value")
    response = client.get(f"/admin/events/{event_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Event #{event_id}" in html and "charge.succeeded" in html
    assert "status-dead_lettered" in html
    # The summary: keys with types and sizes; the sensitive key's value masked.
    assert "<code>api_token</code>" in html and "tok_hidden_value" not in html
    assert '<span class="masked">masked</span>' in html
    # The attempt timeline names the stage, class and message of the failure.
    assert "Attempt 1 failed" in html and "<code>map</code>" in html and "MappingError" in html
    assert "external_id: missing from the payload" in html and "permanent" in html
    assert "No record: the event failed" in html
    # Inline actions are offered for a dead letter.
    for label in ("Retry now", "Replay", "Ignore…", "Resolve by hand…"):
        assert label in html


def test_detail_of_a_normalized_event_shows_its_record(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_ok(client, connection, secret, "charge.succeeded")
    html = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "Normalized record" in html and "payment" in html
    assert "ch_3QhT7sLkdIwHu7ix0Kp9Wm4e" in html  # the external id
    assert 'class="badge outcome-created">created</span>' in html
    assert "<code>amount</code>" in html and "120000" in html
    assert "No attempt finished yet" not in html and "Normalized" in html
    assert "dana.whitfield@example.com" not in html  # never the raw payload


def test_detail_lists_the_admin_actions_on_the_event(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    client.post(f"/admin/events/{event_id}/resolve", data={"reason": "Refund entered by hand", "ctx": "panel"},
                headers=HX)
    html = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "event.resolve_manually" in html and "Refund entered by hand" in html
    assert admin.email in html


def test_detail_history_fragment_for_htmx(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    html = client.get(f"/admin/events/{event_id}?part=history", headers=HX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="event-history"') and "MappingError" in html


def test_unknown_event_is_404(client, admin):
    assert client.get("/admin/events/999999").status_code == 404
    assert client.post("/admin/events/999999/raw", headers=HX).status_code == 404


def test_show_raw_is_audited_and_escaped(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret, note="<script>alert('x')</script> caf\u00e9",
                              long="y" * 200 + "PAST_THE_CUT")
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in page and "<script>alert" not in page  # the summary, escaped
    assert "PAST_THE_CUT" not in page  # the page shows the summary, never the raw body
    assert audit_rows("event.raw_view") == []

    response = client.post(f"/admin/events/{event_id}/raw", headers=HX)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html and "<script>" not in html
    assert "PAST_THE_CUT" in html
    assert "event-changed" in response.headers["HX-Trigger"]
    [row] = audit_rows("event.raw_view", event_id)
    assert row.actor_id == admin.id and row.target_type == "event"
    assert row.after["bytes"] == row.after["shown"] > 0


def test_show_raw_decodes_bad_utf8_and_caps_the_size(client, admin, stripe, monkeypatch):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret, blob="a" * 500)
    raw = event(event_id).raw_event
    raw.body = raw.body[:-1] + b"\xff\xfe}"
    db.session.commit()
    monkeypatch.setattr(event_service, "RAW_VIEW_BYTES", 100)

    html = client.post(f"/admin/events/{event_id}/raw", headers=HX).get_data(as_text=True)

    assert f"Showing the first 100 of {len(raw.body)} bytes" in html
    [row] = audit_rows("event.raw_view", event_id)
    assert row.after == {"bytes": len(raw.body), "shown": 100}

    monkeypatch.setattr(event_service, "RAW_VIEW_BYTES", 10_000)
    html = client.post(f"/admin/events/{event_id}/raw", headers=HX).get_data(as_text=True)
    assert "\ufffd" in html and "Showing the first" not in html


def test_show_raw_without_htmx_is_a_page(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    response = client.post(f"/admin/events/{event_id}/raw")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html and "Raw payload of event" in html and "evt_" in html
    assert len(audit_rows("event.raw_view", event_id)) == 1


def test_pages_carry_no_inline_script_style_or_handlers(client, admin, stripe):
    """A later Content-Security-Policy forbids them: classes and htmx attributes only."""
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret, note="<b onclick=x>hi</b>")
    deliver_ok(client, connection, secret)
    pages = [client.get(url).get_data(as_text=True) for url in (
        "/admin/events", f"/admin/events/{event_id}", "/admin/audit", "/admin/events/bulk-retry")]
    pages.append(client.post(f"/admin/events/{event_id}/raw", headers=HX).get_data(as_text=True))
    pages.append(client.post(f"/admin/events/{event_id}/ignore", data={"ctx": "row", "reason": " "},
                             headers=HX).get_data(as_text=True))
    for html in pages:
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"<[^>]+\son[a-z]+=", html)
        assert not re.search(r"<script(?![^>]*\ssrc=)", html)


def test_show_raw_pretty_prints_json_with_the_bytes_as_received_one_click_away(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret, note="<b>café</b>")
    html = client.post(f"/admin/events/{event_id}/raw", headers=HX).get_data(as_text=True)
    pretty = re.search(r'<pre class="raw-body" id="raw-pretty">(.*?)</pre>', html, re.S).group(1)
    assert '\n  &#34;data&#34;: {' in pretty and "&lt;b&gt;café&lt;/b&gt;" in pretty and "<b>" not in html
    assert "<summary>As received</summary>" in html


def test_the_list_shows_why_an_event_failed_and_the_detail_offers_copy_buttons(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    html = client.get("/admin/events").get_data(as_text=True)
    row = html[html.index(f'<tr id="event-{event_id}"'):]
    row = row[:row.index("</tr>")]
    assert "<th>Error</th>" in html and 'class="error-text"' in row and "permanent error" in row
    detail = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert 'data-copy="dedupe-key"' in detail and 'data-copy="body-sha"' in detail
