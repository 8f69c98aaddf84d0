"""Why this number, in Chromium: a client opens "How we measure this" and the monthly report, an
admin opens the drill-down behind the same card."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from zarts.extensions import db
from zarts.models import PortalCard
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e


def revenue_card(live):
    with live.app.app_context():
        card = db.session.scalar(db.select(PortalCard).filter_by(title="Monthly revenue"))
        return card.id, card.metric_id, float(card.current_value)


def test_a_client_reads_how_a_card_is_measured_and_prints_the_month(page, live, account_state):
    card_id, _, _ = revenue_card(live)
    sign_in(page, live, account_state, LOGINS[1]["email"], LOGINS[1]["password"])
    card = page.locator(f"#card-{card_id}")
    expect(card.locator("svg.spark polyline")).to_be_visible()  # the demo spans several months
    card.get_by_text("How we measure this").click()
    panel = card.locator(f"#how-{card_id}")
    expect(panel).to_contain_text("Online card payments")
    expect(panel).to_contain_text(re.compile(r"made of \d+ records?"))  # other browser tests add payments
    expect(panel).not_to_contain_text("Stripe")
    card.scroll_into_view_if_needed()
    screenshot(page, "how-we-measure", full_page=False)
    page.get_by_role("link", name="Monthly report").click()
    expect(page.locator(f"#report-card-{card_id}")).to_contain_text("How we measure this")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    screenshot(page, "monthly-report")
    page.emulate_media(media="screen")


def test_an_admin_drills_down_from_a_card_to_its_events(page, live, account_state):
    _, metric_id, value = revenue_card(live)
    sign_in(page, live, account_state, ADMIN_EMAIL, LOGINS[0]["password"])
    page.goto(live.url("/admin/metrics"))
    page.locator(f"#metric-{metric_id}").get_by_role("link", name="Why this number").click()
    expect(page.locator("#explain-card")).to_have_text(f"{value:,.2f}")
    expect(page.locator("#explain-counted-total")).to_have_text(f"{value:,.2f}")
    expect(page.locator("#explain-excluded")).to_contain_text("test data: never counted")
    screenshot(page, "why-this-number")
    page.locator("#explain-counted a").first.click()
    expect(page.locator("h1")).to_contain_text("Event #")
