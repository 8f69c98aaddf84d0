"""The audit log page: newest first, filters, keyset pages, escaped reasons and changes."""
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from tests.admin.helpers import HX, deliver_broken
from tests.factories import make_user
from zarts.extensions import db
from zarts.models import AdminAction
from zarts.services import audit

ROW_ID = re.compile(r'<tr id="audit-(\d+)"')
LOAD_MORE = re.compile(r'hx-get="(/admin/audit\?[^"]*cursor=[^"]*)"')


def row_ids(html):
    return [int(i) for i in ROW_ID.findall(html)]


def write(actor, action, target_type="event", target_id="1", reason="", before=None, after=None, when=None):
    """One audit row through the audit service, optionally back-dated."""
    row = audit.record(actor, action, target_type, target_id, reason, before, after)
    db.session.commit()
    if when is not None:
        db.session.execute(update(AdminAction).where(AdminAction.id == row.id).values(created_at=when))
        db.session.commit()
    return row.id


def test_lists_actions_newest_first_with_links_and_escaped_details(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    client.post(f"/admin/events/{event_id}/ignore", data={"ctx": "row", "reason": "Test <img src=x> event"},
                headers=HX)
    system_row = write(None, "connection.health", "connection", str(connection.id), "health check",
                       {"health": "healthy"}, {"health": "error", "note": "<script>"})

    html = client.get("/admin/audit").get_data(as_text=True)

    [ignored] = db.session.scalars(select(AdminAction.id).where(AdminAction.action == "event.ignore")).all()
    ids = row_ids(html)
    assert ids[:2] == [system_row, ignored]  # newest first
    ignore_row = html[html.index(f'<tr id="audit-{ignored}"'):]
    ignore_row = ignore_row[:ignore_row.index("</tr>")]
    assert admin.display_name in ignore_row and "<code>event.ignore</code>" in ignore_row
    assert f'<a href="/admin/events/{event_id}">event #{event_id}</a>' in ignore_row
    assert "Test &lt;img src=x&gt; event" in ignore_row and "<img" not in html
    assert "{&#34;status&#34;:&#34;dead_lettered&#34;} → {&#34;status&#34;:&#34;ignored&#34;}" in ignore_row
    assert "&lt;script&gt;" in html and "<script>" not in html.split("</head>", 1)[1]
    assert ">system<" in html


def test_filters_by_actor_action_target_and_date(client, admin):
    other = make_user("admin")
    a = write(admin, "event.retry", "event", "7", when=datetime(2026, 1, 5, 10, tzinfo=timezone.utc))
    b = write(other, "event.ignore", "event", "8", when=datetime(2026, 1, 6, 10, tzinfo=timezone.utc))
    c = write(None, "bulk.retry", "bulk_operation", "3", when=datetime(2026, 1, 7, 10, tzinfo=timezone.utc))
    d = write(admin, "event.raw_view", "event", "7", when=datetime(2026, 1, 8, 10, tzinfo=timezone.utc))

    def ids(query):
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 200
        return row_ids(response.get_data(as_text=True))

    assert ids(f"actor={admin.id}") == [d, a]
    assert ids(f"actor={other.id}") == [b]
    assert ids("actor=system") == [c]
    assert ids("action=event.retry") == [a]
    assert ids("action=event.*") == [d, b, a]
    assert ids("target_type=bulk_operation") == [c]
    assert ids("target_type=event&target_id=7") == [d, a]
    assert ids("from=2026-01-06&to=2026-01-07") == [c, b]
    assert ids(f"actor={admin.id}&action=event.raw_view") == [d]


@pytest.mark.parametrize("query, message", [
    ("actor=abc", "actor: there is no user &#39;abc&#39;"),
    ("actor=999999", "actor: there is no user &#39;999999&#39;"),
    ("from=someday", "from: &#39;someday&#39; is not a date"),
    ("from=2026-02-02&to=2026-02-01", "from: must be before &#39;to&#39;"),
    ("action=" + "a" * 80, "action: at most 64 characters"),
    ("cursor=zzz", "the &#39;load more&#39; link is not valid"),
])
def test_invalid_filters_show_a_message(client, admin, query, message):
    write(admin, "event.retry")
    for headers in ({}, HX):
        response = client.get(f"/admin/audit?{query}", headers=headers)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert message in html and row_ids(html) == []


class TestPages:
    @pytest.fixture
    def app_config(self, app_config):
        """Pages of two rows."""
        app_config["ADMIN_PAGE_SIZE"] = 2
        return app_config

    def test_keyset_pagination_across_pages(self, client, admin):
        same = datetime(2026, 1, 1, tzinfo=timezone.utc)
        written = [write(admin, "event.retry", target_id=str(i), when=same if i % 2 else None) for i in range(7)]
        expected = list(db.session.scalars(
            select(AdminAction.id).order_by(AdminAction.created_at.desc(), AdminAction.id.desc())))
        assert sorted(expected) == sorted(written)

        html = client.get("/admin/audit").get_data(as_text=True)
        seen, pages = row_ids(html), 1
        while (match := LOAD_MORE.search(html)):
            html = client.get(match.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
            assert "<html" not in html
            seen += row_ids(html)
            pages += 1
        assert seen == expected and pages == 4

    def test_filters_carry_over_to_the_next_page(self, client, admin):
        mine = [write(admin, "event.retry", target_id=str(i)) for i in range(3)]
        write(admin, "event.ignore")
        html = client.get("/admin/audit?action=event.retry").get_data(as_text=True)
        url = LOAD_MORE.search(html).group(1).replace("&amp;", "&")
        assert "action=event.retry" in url
        html2 = client.get(url, headers=HX).get_data(as_text=True)
        assert row_ids(html) + row_ids(html2) == mine[::-1]


def test_changes_read_as_fields_with_the_raw_diff_one_click_away(client, admin, stripe):
    connection, secret = stripe
    event_id = deliver_broken(client, connection, secret)
    client.post(f"/admin/events/{event_id}/ignore", data={"ctx": "row", "reason": "a test charge"}, headers=HX)
    write(admin, "connection.update", "connection", str(connection.id), "tuning",
          {"retry_max_attempts": 5, "portal_visible": True, "name": "Same"},
          {"retry_max_attempts": 8, "portal_visible": False, "name": "Same"})
    for url in ("/admin/audit", f"/admin/events/{event_id}"):
        html = client.get(url).get_data(as_text=True)
        assert re.search(r'<span class="change-field">Status</span>: <span class="change-old">dead lettered</span> → '
                         r'<span class="change-new">ignored</span>', html), url
        assert '<details class="change-raw"><summary>Raw change</summary>' in html, url
    html = client.get("/admin/audit?action=connection.update").get_data(as_text=True)
    assert re.search(r'Retry max attempts</span>: <span class="change-old">5</span> → <span class="change-new">8', html)
    assert re.search(r'Portal visible</span>: <span class="change-old">yes</span> → <span class="change-new">no', html)
    assert '<span class="change-field">Name</span>' not in html  # unchanged fields are left out


def test_field_changes_reads_dates_codes_and_missing_sides():
    from zarts.services.console.audit_log import field_changes

    assert field_changes({}, {"status": "resolved_manually", "resolved_at": "2026-11-29T20:01:02.123+00:00"}) == [
        ("Status", "—", "resolved manually"), ("Resolved at", "—", "2026-11-29 20:01 UTC")]
    assert field_changes({"open_key": "dead_letters:3"}, {}) == [("Open key", "dead_letters:3", "—")]
    assert field_changes({"a": 1}, {"a": 1}) == []
