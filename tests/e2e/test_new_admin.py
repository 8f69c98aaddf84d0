"""A new admin's walk, in Chromium: no surprises (issue #21), at desk and phone widths."""
import contextlib

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from zarts.extensions import db
from zarts.models import WebhookEvent
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = LOGINS[0]["password"]
DESK, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def signed_in(account_state):
    """The admin's cookies, from the run's one admin login (the login limits are real here too)."""
    return account_state(ADMIN_EMAIL, ADMIN_PASSWORD)


@contextlib.contextmanager
def admin_page(browser, signed_in, viewport=DESK):
    """A page signed in as the admin; the test fails on any script error or CSP violation."""
    context = browser.new_context(viewport=viewport, storage_state=signed_in)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield page
    finally:
        context.close()
    assert [e for e in errors if "Failed to load resource" not in e] == []


def a_dead_letter(live):
    with live.app.app_context():
        event = db.session.scalar(db.select(WebhookEvent).filter_by(status="dead_lettered").order_by(WebhookEvent.id))
        return event.id, event.connection_id


def test_creating_a_connection_lands_on_its_own_url_and_a_reload_never_shows_the_secret_again(browser, signed_in, live):
    with admin_page(browser, signed_in) as page:
        page.goto(live.url("/admin/connections/new"))
        page.select_option("select[name=provider]", "standard_webhooks")
        page.select_option("select[name=client]", "northwind-coffee")
        page.fill("textarea[name=reason]", "Leads from the booking tool")
        page.get_by_role("button", name="Create connection").click()
        expect(page.locator("#new-secret")).to_contain_text("whsec_")
        expect(page.locator("[data-copy=new-secret]")).to_be_visible()
        assert page.url.split("/")[-2] == "connections" and page.url.split("/")[-1].isdigit()
        page.reload()
        expect(page.locator("section#secret")).to_be_visible()
        assert page.locator("#new-secret").count() == 0


def test_retry_now_in_the_list_says_what_it_did(browser, signed_in, live):
    event_id, _ = a_dead_letter(live)
    with admin_page(browser, signed_in) as page:
        page.goto(live.url("/admin/events?status=dead_lettered"))
        page.locator(f"#event-{event_id}").get_by_role("button", name="Retry now").click()
        expect(page.locator(f"#event-{event_id} .action-notice")).to_contain_text("Retried.")


def test_opening_ignore_leaves_the_other_buttons_where_they_were(browser, signed_in, live):
    event_id, _ = a_dead_letter(live)
    with admin_page(browser, signed_in) as page:
        page.goto(live.url("/admin/events?status=dead_lettered"))
        row = page.locator(f"#event-{event_id}")
        buttons = [row.get_by_role("button", name=name) for name in ("Retry now", "Replay")] + [
            row.locator("summary", has_text=text) for text in ("Ignore", "Resolve by hand")]

        def places():  # relative to the actions cell: opening the form may scroll the page
            origin = row.locator(".ev-actions-cell").bounding_box()
            return [(round(b.bounding_box()["x"] - origin["x"]), round(b.bounding_box()["y"] - origin["y"]))
                    for b in buttons]

        before = places()
        row.locator("summary", has_text="Ignore").click()
        expect(row.locator("input[name=reason]").first).to_be_visible()
        assert places() == before
        row.scroll_into_view_if_needed()
        screenshot(page, "events-ignore-open", full_page=False)


@pytest.mark.parametrize("viewport, suffix", [(DESK, "desk"), (PHONE, "phone")])
def test_the_admin_pages_are_usable_at_desk_and_phone_widths(browser, signed_in, live, viewport, suffix):
    event_id, connection_id = a_dead_letter(live)
    with admin_page(browser, signed_in, viewport) as page:
        page.goto(live.url("/admin/"))
        nav = page.locator("#main-nav")
        if suffix == "phone":
            expect(nav).to_be_hidden()  # folded behind Menu
            page.get_by_role("button", name="Menu").click()
            expect(nav.get_by_role("link", name="Events")).to_be_visible()
            screenshot(page, "mobile-menu", full_page=False)
            page.get_by_role("button", name="Menu").click()
            expect(nav).to_be_hidden()
        else:
            expect(nav.get_by_role("link", name="Events")).to_be_visible()
            expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        pages = {"board": "/admin/", "events": "/admin/events", "event": f"/admin/events/{event_id}",
                 "connection": f"/admin/connections/{connection_id}", "connection-form": "/admin/connections/new"}
        for name, path in pages.items():
            page.goto(live.url(path))
            page.wait_for_load_state("networkidle")
            # Nothing wider than the screen: no sideways scrolling to reach a status or an action.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
            screenshot(page, f"{name}-{suffix}", full_page=suffix == "desk")
        page.goto(live.url("/admin/connections/new"))  # a field beside a long description keeps its own height
        heights = {n: page.locator(f"[name={n}]").bounding_box()["height"] for n in ("name", "retry_max_attempts")}
        assert abs(heights["name"] - heights["retry_max_attempts"]) <= 1, heights
        page.goto(live.url("/admin/events?status=dead_lettered"))
        row = page.locator(f"#event-{event_id}")
        for cell in ("[data-label=Status]", ".ev-actions-cell"):
            box = row.locator(cell).bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], cell
        expect(row.get_by_role("button", name="Retry now")).to_be_visible()
