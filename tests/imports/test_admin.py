"""The admin pages through HTTP: upload, column mapping, dry run, confirm, progress, downloads."""
import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.auth.test_csrf import TOKEN_RE
from tests.factories import drain, make_connection, make_user
from tests.imports.conftest import HEADER, check, do_import, leads, leads_file, upload
from tests.imports.test_files import BAD_FILES
from zarts.extensions import db
from zarts.models import CsvImport, NormalizedEvent, utcnow

HX = {"HX-Request": "true"}
POLLING = 'hx-trigger="every 1s'


@pytest.fixture
def admin(app, login, connection):
    user = make_user("admin")
    login(user)
    return user


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        names = [name for name, _ in attrs]
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        self.problems += [f"<{tag} {name}=...>" for name in names if name.startswith("on") or name == "style"]


def assert_clean_html(html):
    """No inline script, no event-handler attributes, no style attributes (as parsed, not as text)."""
    parser = _Tags()
    parser.feed(html)
    assert parser.problems == []


def post_file(client, connection, data, filename="leads.csv", headers=None, **form):
    """A multipart upload, encoded in memory (the test client would spool a big body to an unclosed temp file)."""
    upload_ = FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv")
    boundary, body = encode_multipart({"connection_id": str(connection.id), "file": upload_, **form})
    return client.post("/admin/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       headers=headers or {})


def panel(client, imp_id):
    drain()
    response = client.get(f"/admin/imports/{imp_id}?part=panel", headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def mapping_form(section):
    form = {"key": section["key"] or ""}
    for target, spec in section["columns"].items():
        form[f"col-{target}"] = spec.get("column") or ""
        form[f"type-{target}"] = spec.get("type", "text")
        if spec.get("required"):
            form[f"req-{target}"] = "1"
        form[f"values-{target}"] = ", ".join(spec.get("values") or [])
    return form


def test_list_page_offers_the_upload_form(client, admin, connection):
    response = client.get(f"/admin/imports?connection={connection.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'enctype="multipart/form-data"' in html
    assert f'<option value="{connection.id}" selected>' in html
    assert_clean_html(html)


def test_upload_then_map_then_dry_run_then_import(client, admin, connection):
    response = post_file(client, connection, leads_file(3))
    assert response.status_code == 302
    imp = db.session.scalar(db.select(CsvImport))
    assert response.headers["Location"] == f"/admin/imports/{imp.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Map the columns" in page and '<option value="row_key" selected>' in page
    assert 'hx-post="/admin/imports/%d/check"' % imp.id in page
    assert_clean_html(page)

    form = mapping_form(imp.columns or __import__("zarts.services.imports.csv_import", fromlist=["x"]).proposed_section(imp))
    response = client.post(f"/admin/imports/{imp.id}/check", data=form, headers=HX)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    html = panel(client, imp.id)
    assert "Dry run" in html and POLLING not in html
    assert re.search(r"<dt>New</dt><dd>3</dd>", html)
    assert "hx-confirm=" in html and 'hx-post="/admin/imports/%d/confirm"' % imp.id in html
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 0
    assert_clean_html(html)

    response = client.post(f"/admin/imports/{imp.id}/confirm", data={}, headers=HX)
    assert response.status_code == 200
    html = panel(client, imp.id)
    assert "Imported" in html and POLLING not in html and re.search(r"<dt>Created</dt><dd>3</dd>", html)
    db.session.expire_all()
    imp = db.session.get(CsvImport, imp.id)
    assert f'href="/admin/events/{imp.completed_event_id}"' in html
    full = client.get(f"/admin/imports/{imp.id}").get_data(as_text=True)
    assert "<html" in full and "Imported" in full
    assert_clean_html(full)


def test_without_htmx_the_forms_redirect(client, admin, connection):
    imp = upload(connection, leads_file(2))
    from zarts.services.imports import csv_import

    response = client.post(f"/admin/imports/{imp.id}/check", data=mapping_form(csv_import.proposed_section(imp)))
    assert response.status_code == 302
    drain()
    response = client.post(f"/admin/imports/{imp.id}/confirm", data={})
    assert response.status_code == 302
    drain()
    db.session.expire_all()
    assert db.session.get(CsvImport, imp.id).status == "done"


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_get_a_clear_error_never_a_500(client, admin, connection, name):
    data, message = BAD_FILES[name]
    response = post_file(client, connection, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message.replace("'", "&#39;") in html
    assert_clean_html(html)
    response = post_file(client, connection, data, headers=HX)
    assert response.status_code == 200 and message.replace("'", "&#39;") in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CsvImport.id))) == 0


def test_missing_file_or_connection(client, admin, connection):
    response = client.post("/admin/imports", data={"connection_id": str(connection.id)}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file" in response.get_data(as_text=True)
    response = client.post("/admin/imports", data={"connection_id": "999999", "file": (io.BytesIO(leads_file(1)), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "unknown connection 999999" in response.get_data(as_text=True)


def test_the_size_limit_is_enforced_on_the_upload_route_only(app, client, admin, connection):
    app.config["CSV_MAX_BYTES"] = 2000
    response = post_file(client, connection, leads_file(200))
    assert response.status_code == 413 and "larger than" in response.get_data(as_text=True)
    assert post_file(client, connection, leads_file(3)).status_code == 302
    app.config["CSV_MAX_BYTES"] = 100 * 1024 * 1024
    body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    webhook_connection, _ = make_connection("stripe")
    response = client.post(webhook_connection.ingest_path, data=body, content_type="application/json")
    assert response.status_code == 413 and response.is_json  # webhooks keep their own 1 MiB limit


def test_a_mapping_problem_re_renders_the_form_with_the_error(client, admin, connection):
    imp = upload(connection, b"row_key,name,colour\nL-1,A,red\n")
    from zarts.services.imports import csv_import

    form = {**mapping_form(csv_import.proposed_section(imp)), "req-email": "1"}
    response = client.post(f"/admin/imports/{imp.id}/check", data=form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "required column for &#39;email&#39; is missing" in html
    assert 'name="ignore" value="colour"' in html
    assert client.post(f"/admin/imports/{imp.id}/check", data=form).status_code == 400
    del form["req-email"]
    client.post(f"/admin/imports/{imp.id}/check", data=form, headers=HX)
    assert "required column" not in panel(client, imp.id)


def test_the_same_file_again_needs_the_explicit_confirmation(client, admin, connection):
    from tests.imports.conftest import import_file

    first = import_file(connection, leads_file(2))
    second = check(upload(connection, leads_file(2)))
    html = panel(client, second.id)
    assert f"Already imported on {first.finished_at:%Y-%m-%d}" in html and 'name="force"' in html
    response = client.post(f"/admin/imports/{second.id}/confirm", data={}, headers=HX)
    assert "already imported on" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CsvImport, second.id).status == "dry_run"
    client.post(f"/admin/imports/{second.id}/confirm", data={"force": "1"}, headers=HX)
    assert re.search(r"<dt>Unchanged</dt><dd>2</dd>", panel(client, second.id))


def test_progress_polls_while_running_and_stops_when_final(client, admin, connection):
    imp = check(upload(connection, leads_file(4)))
    imp.status, imp.claim_token, imp.started_at = "importing", "busy", utcnow() - timedelta(seconds=2)
    imp.lease_expires_at, imp.done_rows, imp.error_count = utcnow() + timedelta(minutes=5), 2, 1
    db.session.commit()
    html = client.get(f"/admin/imports/{imp.id}?part=panel", headers=HX).get_data(as_text=True)
    assert POLLING in html and 'hx-swap="outerHTML"' in html and f'hx-get="/admin/imports/{imp.id}?part=panel"' in html
    assert '<progress class="import-progress" max="100" value="50">' in html
    assert "2 of 4" in html and "rows/s" in html and "<dt>Errors so far</dt><dd>1</dd>" in html
    assert_clean_html(html)
    imp.lease_expires_at = utcnow() - timedelta(seconds=1)  # its worker died
    db.session.commit()
    html = client.get(f"/admin/imports/{imp.id}?part=panel", headers=HX).get_data(as_text=True)
    assert POLLING not in html and "Resume" in html
    client.post(f"/admin/imports/{imp.id}/resume", data={}, headers=HX)
    html = panel(client, imp.id)
    assert POLLING not in html and "Imported" in html


def test_errors_download_is_csv_with_escaped_cells(client, admin, connection):
    imp = check(upload(connection, (HEADER + "L-1,=2+3,X,new,1,2026-11-01\n").encode()))
    response = client.get(f"/admin/imports/{imp.id}/errors.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).splitlines()[1].startswith("2,email,'=2+3,")


def test_uploaded_text_is_escaped_everywhere(client, admin, connection):
    evil = "<script>alert(1)</script>"
    data = (f"row_key,email,name,stage,value,created,<img src=x onerror=alert(1)>\n"
            f"L-1,{evil},x,new,1,2026-11-01,y\n").encode()
    response = post_file(client, connection, data, filename="<b onclick=alert(1)>.csv")
    imp_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for url in ("/admin/imports", f"/admin/imports/{imp_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<b onclick" not in html and "&lt;b onclick=alert(1)&gt;.csv" in html
        assert "<img src=x" not in html
        assert_clean_html(html)
    from zarts.services.imports import csv_import

    imp = db.session.get(CsvImport, imp_id)
    section = {**csv_import.proposed_section(imp), "ignore": ["<img src=x onerror=alert(1)>"]}
    client.post(f"/admin/imports/{imp_id}/check", data={**mapping_form(section), "ignore": section["ignore"]}, headers=HX)
    html = panel(client, imp_id)
    assert "not an email address" in html and evil not in html
    assert_clean_html(html)


def test_unknown_import_is_a_404(client, admin):
    assert client.get("/admin/imports/424242").status_code == 404
    assert client.post("/admin/imports/424242/confirm", headers=HX).status_code == 404


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_upload_without_the_token_is_refused(self, app, client, connection):
        user = make_user("admin")
        token = TOKEN_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"email": user.email, "password": "correct-horse-battery", "csrf_token": token})
        response = post_file(client, connection, leads_file(1))
        assert response.status_code == 400
        assert db.session.scalar(db.select(db.func.count(CsvImport.id))) == 0
        page = client.get("/admin/imports").get_data(as_text=True)
        token = TOKEN_RE.search(page).group(1)
        assert post_file(client, connection, leads_file(1), csrf_token=token).status_code == 302
        imp = db.session.scalar(db.select(CsvImport))
        assert client.post(f"/admin/imports/{imp.id}/check", data={}, headers=HX).status_code == 400


def test_an_unreachable_queue_leaves_the_import_resumable(client, admin, connection, monkeypatch):
    from zarts import dispatch
    from zarts.services.imports import csv_import

    imp = upload(connection, leads_file(2))
    monkeypatch.setattr(dispatch, "submit", lambda name, *args: False)
    client.post(f"/admin/imports/{imp.id}/check", data=mapping_form(csv_import.proposed_section(imp)), headers=HX)
    html = client.get(f"/admin/imports/{imp.id}?part=panel", headers=HX).get_data(as_text=True)
    assert "queue was unreachable" in html and "Resume" in html and POLLING not in html
    monkeypatch.undo()
    client.post(f"/admin/imports/{imp.id}/resume", data={}, headers=HX)
    assert "Dry run" in panel(client, imp.id)


def test_the_import_button_and_its_confirmation_give_the_same_count(client, admin, connection):
    do_import(check(upload(connection, leads_file(2))))  # L-1, L-2 exist now
    data = (HEADER + leads(2) + leads(1, start=10) + leads(1, start=10, stage="lost")
            + "L-20,bad-email,X,new,1,2026-11-01\n").encode()  # 5 rows: 2 unchanged, 1 new, 1 duplicate, 1 invalid
    imp = check(upload(connection, data, filename="acme-leads-nov.csv"))
    html = panel(client, imp.id)
    button = re.search(r'<button type="submit" class="btn btn-brand">Import (\d+) rows</button>', html).group(1)
    confirm = re.search(r'hx-confirm="Import (\d+) of the (\d+) rows of acme-leads-nov.csv into [^"]*'
                        r'The other (\d+) \(duplicate, invalid or ignored\) are skipped.">', html)
    assert button == confirm.group(1) == "3" and confirm.group(2, 3) == ("5", "2")


def test_the_errors_download_carries_each_row_as_the_file_had_it_sensitive_values_masked(client, admin, connection):
    data = (HEADER + leads(1) + "L-2,bad-email,Dana Whitfield,new,7,2026-11-01\n" + leads(1, start=3)
            + "L-4,l4@example.com,=HYPERLINK(1),new,x,2026-11-01\n").encode()
    imp = check(upload(connection, data))
    lines = list(csv.reader(io.StringIO(client.get(f"/admin/imports/{imp.id}/errors.csv")
                                                       .get_data(as_text=True))))
    assert lines[0] == ["line", "column", "value", "message", "row_key", "email", "name", "stage", "value", "created"]
    by_line = {row[0]: row for row in lines[1:]}
    assert by_line["3"][4:] == ["L-2", "•••", "Dana Whitfield", "new", "7", "2026-11-01"]
    assert by_line["5"][4:] == ["L-4", "•••", "'=HYPERLINK(1)", "new", "x", "2026-11-01"]


def test_the_column_mapping_shows_the_files_first_rows_masked_where_sensitive(client, admin, connection):
    imp = upload(connection, leads_file(7))
    html = client.get(f"/admin/imports/{imp.id}").get_data(as_text=True)
    preview = html[html.index('<table class="import-preview-table">'):]
    preview = preview[:preview.index("</table>")]
    assert "The file's first 5 rows (values under sensitive headers masked)" in html
    assert preview.count("<tr>") == 6 and "Lead 1" in preview and "Lead 5" in preview and "Lead 6" not in preview
    assert "lead1@example.com" not in html and "•••" in preview
