"""Notes zarts writes for a client are drafts its connection's owner approves, edits or discards."""
import pytest

from tests.factories import make_connection, make_user
from tests.imports.conftest import HEADER, import_file, leads
from zarts.extensions import db
from zarts.models import AdminAction, AdminTask, ReportNote

FAILING_IMPORT = (HEADER + leads(2) + "L-8,broken,X,new,1,2026-11-01\n").encode()  # 1 row cannot be read


@pytest.fixture
def csv_connection(app, admin):
    return make_connection("manual_csv_import", owner=admin, live=True)[0]


def portal_of(client, login, connection):
    client.post("/logout")
    login(make_user("client", client=connection.client))
    return client.get("/portal/").get_data(as_text=True)


def draft_of(connection):
    db.session.expire_all()
    return db.session.scalar(db.select(ReportNote).filter_by(connection_id=connection.id))


def test_an_imports_note_waits_for_the_owner_who_is_told(app, client, admin, login, csv_connection):
    import_file(csv_connection, FAILING_IMPORT)
    note = draft_of(csv_connection)
    assert (note.status, note.visible) == ("draft", False)
    task = db.session.scalar(db.select(AdminTask).filter_by(kind="note_draft"))
    assert task.assignee_id == admin.id and task.open_key == f"note_draft:{note.id}" and "waits for your review" in task.title
    page = client.get(f"/admin/clients/{csv_connection.client_id}/notes").get_data(as_text=True)
    assert "Drafts waiting for your review" in page and f'id="draft-{note.id}"' in page
    assert note.title not in portal_of(client, login, csv_connection)


def test_the_owner_edits_and_approves_and_only_then_the_client_reads_it(app, client, admin, login, csv_connection):
    import_file(csv_connection, FAILING_IMPORT)
    note = draft_of(csv_connection)
    response = client.post(f"/admin/notes/{note.id}/approve",
                           data={"title": "Your November leads are in", "body": "2 new leads; we are fixing 1 row."})
    assert response.status_code == 303
    note = draft_of(csv_connection)
    assert (note.status, note.visible, note.title) == ("published", True, "Your November leads are in")
    [row] = db.session.scalars(db.select(AdminAction).filter_by(action="note.approve")).all()
    assert row.actor_id == admin.id and row.before["status"] == "draft" and row.after["title"] == note.title
    assert db.session.scalar(db.select(AdminTask).filter_by(kind="note_draft")).status == "resolved"
    assert "2 new leads; we are fixing 1 row." in portal_of(client, login, csv_connection)


def test_a_discarded_draft_never_reaches_the_client(app, client, admin, login, csv_connection):
    import_file(csv_connection, FAILING_IMPORT)
    note = draft_of(csv_connection)
    client.post(f"/admin/notes/{note.id}/discard", data={})
    assert draft_of(csv_connection).status == "discarded"
    assert db.session.scalar(db.select(AdminTask).filter_by(kind="note_draft")).status == "resolved"
    again = client.post(f"/admin/notes/{note.id}/approve", data={"title": "x"}, follow_redirects=True)
    assert "not a draft waiting for review" in again.get_data(as_text=True)
    assert "could not be read" not in portal_of(client, login, csv_connection)


def test_approving_needs_a_title(app, client, admin, csv_connection):
    import_file(csv_connection, FAILING_IMPORT)
    note = draft_of(csv_connection)
    html = client.post(f"/admin/notes/{note.id}/approve", data={"title": " "}, follow_redirects=True).get_data(as_text=True)
    assert "a report note needs a title" in html and draft_of(csv_connection).status == "draft"


def test_a_connection_may_publish_its_notes_without_review(app, client, admin, login, csv_connection):
    csv_connection.auto_publish_notes = True
    db.session.commit()
    import_file(csv_connection, FAILING_IMPORT)
    note = draft_of(csv_connection)
    assert (note.status, note.visible) == ("published", True)
    assert db.session.scalar(db.select(AdminTask).filter_by(kind="note_draft")) is None
    assert note.title in portal_of(client, login, csv_connection)


def test_auto_publish_is_a_setting_on_the_connection_form(app, client, admin, csv_connection):
    html = client.get(f"/admin/connections/{csv_connection.id}/edit").get_data(as_text=True)
    assert 'name="auto_publish_notes"' in html
