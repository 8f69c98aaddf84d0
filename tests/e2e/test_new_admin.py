"""A new admin's walk, in Chromium: no surprises (issue #21), at desk and phone widths."""
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot
from zarts.extensions import db
from zarts.models import WebhookEvent
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = LOGINS[0]["password"]
DESK, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


def a_dead_letter(live):
    with live.app.app_context():
        event = db.session.scalar(db.select(WebhookEvent).filter_by(status="dead_lettered").order_by(WebhookEvent.id))
        return event.id, event.connection_id


def test_creating_a_connection_lands_on_its_own_url_and_a_reload_never_shows_the_secret_again(page, live):
    login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/connections/new"))
    page.select_option("select[name=provider]", "standard_webhooks")
    page.select_option("select[name=client]", "northwind-coffee")
    page.fill("textarea[name=reason]", "Leads from the booking tool")
    page.get_by_role("button", name="Create connection").click()
    expect(page.locator("#new-secret")).to_contain_text("whsec_")
    expect(page.locator("[data-copy=new-secret]")).to_be_visible()
    assert page.url.rstrip("/").split("/")[-2:-1] == ["connections"] and page.url.split("/")[-1].isdigit()
    page.reload()
    expect(page.locator("#secret")).to_be_visible()
    assert page.locator("#new-secret").count() == 0


def test_retry_now_in_the_list_says_what_it_did(page, live):
    event_id, _ = a_dead_letter(live)
    login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/events?status=dead_lettered"))
    row = page.locator(f"#event-{event_id}")
    row.get_by_role("button", name="Retry now").click()
    expect(page.locator(f"#event-{event_id} .action-notice")).to_contain_text("Retried.")


def test_opening_ignore_leaves_the_other_buttons_where_they_were(page, live):
    event_id, _ = a_dead_letter(live)
    login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/events?status=dead_lettered"))
    row = page.locator(f"#event-{event_id}")
    replay = row.get_by_role("button", name="Replay")
    before = replay.bounding_box()
    row.locator("summary", has_text="Ignore").click()
    expect(row.locator("textarea[name=reason], input[name=reason]").first).to_be_visible()
    after = replay.bounding_box()
    assert (round(after["x"]), round(after["y"])) == (round(before["x"]), round(before["y"]))


@pytest.mark.parametrize("viewport, suffix", [(DESK, "desk"), (PHONE, "phone")])
def test_the_admin_pages_are_usable_at_desk_and_phone_widths(browser, live, viewport, suffix):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        event_id, connection_id = a_dead_letter(live)
        login(page, live, ADMIN_EMAIL, ADMIN_PASSWORD)
        nav = page.locator("#main-nav")
        if suffix == "phone":
            expect(nav).to_be_hidden()  # folded behind Menu
            page.get_by_role("button", name="Menu").click()
            expect(nav.get_by_role("link", name="Events")).to_be_visible()
            screenshot(page, "mobile-menu")
            page.get_by_role("button", name="Menu").click()
        else:
            expect(nav.get_by_role("link", name="Events")).to_be_visible()
        pages = {"board": "/admin/", "events": "/admin/events", "event": f"/admin/events/{event_id}",
                 "connection": f"/admin/connections/{connection_id}"}
        for name, path in pages.items():
            page.goto(live.url(path))
            page.wait_for_load_state("networkidle")
            # Nothing wider than the screen: no sideways scrolling to reach a status or an action.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
            screenshot(page, f"{name}-{suffix}")
        page.goto(live.url("/admin/events?status=dead_lettered"))
        row = page.locator(f"#event-{event_id}")
        for cell in ("[data-label=Status]", ".ev-actions-cell"):
            box = row.locator(cell).bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], cell
        expect(row.get_by_role("button", name="Retry now")).to_be_visible()
    finally:
        context.close()
