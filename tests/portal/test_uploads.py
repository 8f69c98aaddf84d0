"""A client uploads their own CSV file in the portal: dry run first, then the import; only their own."""
import io

import pytest

from tests.factories import drain, make_client, make_connection, make_user
from tests.imports.conftest import HEADER, leads, leads_file
from zarts.extensions import db
from zarts.models import AdminAction, CsvImport, NormalizedEvent

HX = {"HX-Request": "true"}


@pytest.fixture
def acme(app):
    """(client, a user of it, its CSV connection that takes uploads)."""
    client = make_client("Acme Dental")
    connection, _ = make_connection("manual_csv_import", client=client, reason="Leads from the CRM", live=True)
    connection.client_upload = True
    db.session.commit()
    return client, make_user("client", client=client), connection


def post_file(web, data, connection, filename="leads.csv", headers=None):
    response = web.post("/portal/imports", data={"connection_id": str(connection.id),
                                                 "file": (io.BytesIO(data), filename)},
                        content_type="multipart/form-data", headers=headers or {})
    drain()
    db.session.expire_all()
    return response


def only_import():
    return db.session.scalar(db.select(CsvImport))


def test_a_client_uploads_checks_and_imports_their_file(client, login, acme):
    _, user, connection = acme
    login(user)
    page = client.get("/portal/imports").get_data(as_text=True)
    assert "Upload and check" in page and f'<option value="{connection.id}"' in page
    assert 'href="/portal/imports"' in client.get("/portal/").get_data(as_text=True)  # in the navigation

    data = (HEADER + leads(3) + "L-9,not-an-email,X,new,1,2026-11-01\n").encode()
    response = post_file(client, data, connection)
    imp = only_import()
    assert response.status_code == 302 and response.location.endswith(f"/portal/imports/{imp.id}")
    assert (imp.status, imp.source, imp.actor_id) == ("dry_run", "portal", user.id)
    page = client.get(f"/portal/imports/{imp.id}").get_data(as_text=True)
    assert "Checked: ready to import" in page and "Import 3 rows" in page
    assert "not an email address" in page and "not-an-email" in page  # their own row, in plain words
    assert db.session.scalar(db.select(db.func.count()).select_from(NormalizedEvent)) == 0  # nothing saved yet

    response = client.post(f"/portal/imports/{imp.id}/confirm", headers=HX)
    drain()
    db.session.expire_all()
    assert response.status_code == 200
    imp = only_import()
    assert imp.status == "done" and imp.counts["created"] == 3 and imp.counts["failed"] == 1
    page = client.get(f"/portal/imports/{imp.id}").get_data(as_text=True)
    assert "Imported" in page and "Upload another file" in page
    again = client.post(f"/portal/imports/{imp.id}/confirm")
    assert again.status_code == 400 and "cannot be imported now" in again.get_data(as_text=True)


def test_the_admin_sees_who_uploaded_it(client, login, acme):
    _, user, connection = acme
    login(user)
    post_file(client, leads_file(2), connection)
    imp = only_import()
    client.post("/logout")
    login(make_user("admin"))
    listing = client.get("/admin/imports").get_data(as_text=True)
    assert f"by {user.display_name}" in listing and "client upload" in listing
    assert f"by {user.display_name}" in client.get(f"/admin/imports/{imp.id}").get_data(as_text=True)
    upload = db.session.scalar(db.select(AdminAction).where(AdminAction.action == "csv_import.upload"))
    assert upload.actor_id == user.id and upload.after["source"] == "portal"


def test_clients_see_only_their_own_uploads(client, login, acme):
    _, user, connection = acme
    login(user)
    post_file(client, leads_file(2), connection)
    imp = only_import()
    client.post("/logout")

    other = make_client("Birch Clinic")
    other_connection, _ = make_connection("manual_csv_import", client=other, reason="Their leads", live=True)
    other_connection.client_upload = True
    db.session.commit()
    login(make_user("client", client=other))
    assert imp.filename not in client.get("/portal/imports").get_data(as_text=True)
    assert f'value="{connection.id}"' not in client.get("/portal/imports").get_data(as_text=True)
    assert client.get(f"/portal/imports/{imp.id}").status_code == 404
    assert client.get(f"/portal/imports/{imp.id}?part=panel", headers=HX).status_code == 404
    assert client.post(f"/portal/imports/{imp.id}/confirm").status_code == 404
    refused = post_file(client, leads_file(1, start=50), connection)  # another client's connection id
    assert refused.status_code == 400 and "does not take uploads" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CsvImport)) == 1
    assert only_import().status == "dry_run"  # untouched


def test_uploads_are_off_unless_the_admin_turns_them_on(client, login, acme):
    _, user, connection = acme
    connection.client_upload = False
    db.session.commit()
    login(user)
    assert "Uploads are not turned on" in client.get("/portal/imports").get_data(as_text=True)
    assert 'href="/portal/imports"' not in client.get("/portal/").get_data(as_text=True)
    assert post_file(client, leads_file(1), connection).status_code == 400
    assert only_import() is None


def test_a_file_without_the_key_column_says_so_in_plain_words(client, login, acme):
    _, user, connection = acme
    login(user)
    response = post_file(client, b"name,email\nDana,dana@example.com\n", connection, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith("/portal/imports/")
    imp = only_import()
    assert imp.status == "failed"
    page = client.get(f"/portal/imports/{imp.id}").get_data(as_text=True)
    assert "Could not be read" in page and "Your file needs a column with each row&#39;s own id" in page


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"%PDF-1.7", "This looks like a PDF document, not a CSV file."),
])
def test_unusable_files_are_refused_on_the_upload_page(client, login, acme, data, message):
    _, user, connection = acme
    login(user)
    response = post_file(client, data, connection, headers=HX)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert only_import() is None


def test_admins_and_signed_out_visitors_cannot_use_the_client_upload(client, login, acme):
    _, _, connection = acme
    assert client.get("/portal/imports").status_code == 302
    assert post_file(client, leads_file(1), connection).status_code in (302, 400)
    assert only_import() is None
