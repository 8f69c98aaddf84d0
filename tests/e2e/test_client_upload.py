"""A client uploads their own CSV export in the portal, in a real browser against a running server."""
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from zarts.extensions import db
from zarts.models import CsvImport
from zarts.services.setup.demo import ADMIN_EMAIL, LOGINS

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = LOGINS[0]["password"]
CLIENT_EMAIL, CLIENT_PASSWORD = LOGINS[1]["email"], LOGINS[1]["password"]
EXPORT = ("id,email,name,stage,value,created\n"
          + "".join(f"BK-{i},guest{i}@example.com,Guest {i},new,\"$1,{i:03d}.00\",11/{i % 28 + 1:02d}/2026\n"
                    for i in range(1, 41))
          + "BK-41,not-an-email,Guest 41,new,90,2026-11-05\n").encode()


def test_a_client_uploads_a_csv_checks_it_and_imports_it(open_as, live):
    page = open_as(CLIENT_EMAIL, CLIENT_PASSWORD)
    page.goto(live.url("/portal/"))
    page.get_by_role("link", name="Upload a file").click()
    expect(page.get_by_role("heading", name="Upload a file")).to_be_visible()
    page.set_input_files("input[name=file]", files=[
        {"name": "bookings-november.csv", "mimeType": "text/csv", "buffer": EXPORT}])
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name="Checked: ready to import")).to_be_visible()
    panel = page.locator("#import-panel")
    assert "not an email address" in panel.inner_text() and "not-an-email" in panel.inner_text()
    expect(panel.get_by_role("button", name="Import 40 rows")).to_be_visible()
    screenshot(page, "portal-upload-checked")
    panel.get_by_role("button", name="Import 40 rows").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    screenshot(page, "portal-upload")
    page.get_by_role("link", name="All uploads").click()
    expect(page.get_by_role("link", name="bookings-november.csv")).to_be_visible()

    with live.app.app_context():
        imp = db.session.scalar(db.select(CsvImport).where(CsvImport.filename == "bookings-november.csv"))
        assert (imp.status, imp.source, imp.counts["created"], imp.counts["failed"]) == ("done", "portal", 40, 1)
        import_id, uploader = imp.id, imp.actor.display_name

    # The admin sees who uploaded it; another client never sees it.
    page = open_as(ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/imports"))
    expect(page.locator("table.import-table")).to_contain_text(f"by {uploader}")
    page = open_as(LOGINS[2]["email"], LOGINS[2]["password"])
    assert page.goto(live.url(f"/portal/imports/{import_id}")).status == 404


def test_an_admin_upload_goes_to_its_column_mapping_and_a_bad_file_says_why(open_as, live):
    page = open_as(ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live.url("/admin/imports"))
    page.set_input_files("input[name=file]", files=[{"name": "notes.pdf", "mimeType": "application/pdf",
                                                      "buffer": b"%PDF-1.7 not a spreadsheet"}])
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.locator(".import-upload [role=alert]")).to_contain_text("This looks like a PDF document")
    page.set_input_files("input[name=file]", files=[{"name": "leads-layout.csv", "mimeType": "text/csv",
                                                      "buffer": b"id,email,created_at,source\nL-1,a@example.com,"
                                                                b"2026-11-03,website\n"}])
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="1. Map the columns")).to_be_visible()
    assert "They are kept on each record as fields" in page.inner_text("#import-panel")
    page.select_option("select[name=col-created]", "created_at")
    page.get_by_role("button", name="Save mapping and run the dry run").click()
    expect(page.get_by_role("heading", name="2. Dry run: what the import would do")).to_be_visible()
    screenshot(page, "admin-import-dry-run")
