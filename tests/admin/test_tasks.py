"""Admin tasks: open ones listed mine first, resolved inline with an audit row."""
import json
import uuid

from tests.factories import deliver, drain, make_connection, make_user
from zarts.extensions import db
from zarts.models import AdminAction, AdminTask, WebhookEvent

HX = {"HX-Request": "true"}


def dead_letter(client, connection, secret):
    """A Stripe charge without data.object.id: dead-lettered, which opens a task for the owner."""
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "data": {"object": {}}}
    assert deliver(client, connection, secret, payload=payload).status_code == 202


def task_of(connection):
    db.session.expire_all()
    return db.session.scalars(db.select(AdminTask).filter_by(connection_id=connection.id).order_by(AdminTask.id)).all()


def test_open_tasks_mine_first(app, client, admin):
    other_admin = make_user("admin")
    theirs, theirs_secret = make_connection("stripe", owner=other_admin)
    mine, mine_secret = make_connection("stripe", owner=admin)
    dead_letter(client, theirs, theirs_secret)  # older, but not mine
    dead_letter(client, mine, mine_secret)
    html = client.get("/admin/tasks").get_data(as_text=True)
    [their_task], [my_task] = task_of(theirs), task_of(mine)
    assert html.index(f'id="task-{my_task.id}"') < html.index(f'id="task-{their_task.id}"')
    assert "2 open · 1 assigned to you" in html and mine.name in html


def test_resolve_inline_is_audited_and_frees_the_open_key(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    dead_letter(client, connection, secret)
    [task] = task_of(connection)
    response = client.post(f"/admin/tasks/{task.id}/resolve", data={"reason": "mapping fixed"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == json.dumps({"task-resolved": task.id})
    assert f'id="task-{task.id}"' in html and "resolved" in html and "<html" not in html
    [task] = task_of(connection)
    assert (task.status, task.open_key, task.resolved_by_id) == ("resolved", None, admin.id) and task.resolved_at
    [row] = db.session.scalars(db.select(AdminAction).filter_by(action="task.resolve")).all()
    assert (row.target_id, row.reason, row.actor_id) == (str(task.id), "mapping fixed", admin.id)
    assert row.before["status"] == "open" and row.after["status"] == "resolved"
    assert f'id="task-{task.id}"' not in client.get("/admin/tasks").get_data(as_text=True)
    dead_letter(client, connection, secret)  # the same problem again opens a new task
    assert [t.status for t in task_of(connection)] == ["resolved", "open"]


def test_resolving_twice_says_so(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    dead_letter(client, connection, secret)
    [task] = task_of(connection)
    client.post(f"/admin/tasks/{task.id}/resolve", data={}, headers=HX)
    response = client.post(f"/admin/tasks/{task.id}/resolve", data={}, headers=HX)
    assert "already resolved" in response.get_data(as_text=True) and "HX-Trigger" not in response.headers
    assert len(db.session.scalars(db.select(AdminAction).filter_by(action="task.resolve")).all()) == 1


def test_empty_and_unknown(app, client, admin):
    assert "Nothing to do" in client.get("/admin/tasks").get_data(as_text=True)
    assert client.post("/admin/tasks/999999/resolve", headers=HX).status_code == 404


def test_a_dead_letter_task_closes_itself_once_nothing_it_is_about_remains(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    dead_letter(client, connection, secret)
    dead_letter(client, connection, secret)
    first, second = db.session.scalars(db.select(WebhookEvent.id).filter_by(
        connection_id=connection.id, status="dead_lettered").order_by(WebhookEvent.id)).all()
    client.post(f"/admin/events/{first}/ignore", data={"reason": "a test charge"}, headers=HX)
    [task] = task_of(connection)
    assert task.status == "open"  # one dead letter is left
    client.post(f"/admin/events/{second}/resolve", data={"reason": "entered by hand"}, headers=HX)
    [task] = task_of(connection)
    assert (task.status, task.open_key, task.resolved_by_id) == ("resolved", None, None) and task.resolved_at
    assert "no dead-lettered events remain" in task.detail
    [row] = db.session.scalars(db.select(AdminAction).filter_by(action="task.resolve")).all()
    assert (row.target_id, row.actor_id, row.reason) == (str(task.id), None, "no dead-lettered events remain")
    assert f'id="task-{task.id}"' not in client.get("/admin/tasks").get_data(as_text=True)


def test_retrying_the_last_dead_letter_closes_its_task_and_a_new_failure_opens_another(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    dead_letter(client, connection, secret)
    [event_id] = db.session.scalars(db.select(WebhookEvent.id).filter_by(connection_id=connection.id)).all()
    client.post(f"/admin/events/{event_id}/retry", data={}, headers=HX)
    drain()  # it fails again: the mapping still finds no id
    assert [t.status for t in task_of(connection)] == ["resolved", "open"]
