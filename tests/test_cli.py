"""The scripting contract: `flask zarts ...` prints one JSON object with --json, one error line on bad input."""
import json

import pytest

from tests.factories import make_client, make_connection, make_user
from zarts.extensions import db
from zarts.models import Client, Connection, User, WebhookEvent
from zarts.services.ingest import secrets
from zarts.services.setup import demo


def zarts(runner, *args):
    """Run `flask zarts ARGS` in-process."""
    return runner.invoke(args=["zarts", *args])


def one_json_object(result):
    """The single JSON object a --json command printed on stdout (and nothing else)."""
    assert result.exit_code == 0, result.output
    assert result.exception is None
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def assert_one_line_error(result, *fragments):
    """Non-zero exit, one `error: ...` line on stderr, nothing on stdout, no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


# create-client


def test_create_client_json(app, runner):
    data = one_json_object(zarts(runner, "create-client", "--name", "Acme Dental", "--json"))
    assert set(data) >= {"id", "slug", "name"}
    assert data["slug"] == "acme-dental"
    assert data["name"] == "Acme Dental"
    assert db.session.get(Client, data["id"]).slug == "acme-dental"


def test_create_client_with_explicit_slug(app, runner):
    data = one_json_object(zarts(runner, "create-client", "--name", "Acme", "--slug", "Acme HQ", "--json"))
    assert data["slug"] == "acme-hq"


def test_create_client_human_output(app, runner):
    result = zarts(runner, "create-client", "--name", "Acme")
    assert result.exit_code == 0
    assert "acme" in result.stdout


def test_duplicate_client_is_refused(app, runner):
    make_client("Acme")
    assert_one_line_error(zarts(runner, "create-client", "--name", "ACME", "--json"), "acme", "exists")
    assert db.session.scalar(db.select(db.func.count()).select_from(Client)) == 1


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_blank_client_name_is_refused(app, runner, name):
    assert_one_line_error(zarts(runner, "create-client", "--name", name))


def test_missing_client_name_is_refused(app, runner):
    assert_one_line_error(zarts(runner, "create-client", "--json"), "--name")


# create-user


def test_create_admin_json(app, runner):
    data = one_json_object(zarts(
        runner, "create-user", "--email", "Owner@Example.com", "--password", "long-enough-pw", "--role", "admin", "--json"
    ))
    assert set(data) >= {"id", "email", "role", "client"}
    assert data == {**data, "email": "owner@example.com", "role": "admin", "client": None}
    user = db.session.get(User, data["id"])
    assert user.check_password("long-enough-pw")


def test_create_client_user_json(app, runner):
    client = make_client("Acme")
    data = one_json_object(zarts(
        runner, "create-user", "--email", "maria@example.com", "--password", "long-enough-pw",
        "--role", "client", "--client", client.slug, "--json",
    ))
    assert data["role"] == "client"
    assert data["client"] == "acme"


def test_created_user_can_log_in(app, runner, client):
    zarts(runner, "create-user", "--email", "ops@example.com", "--password", "long-enough-pw", "--role", "admin")
    response = client.post("/login", data={"email": "ops@example.com", "password": "long-enough-pw"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--email", "not-an-email", "--role", "admin"], ["invalid email"]),
        (["--email", "a@localhost", "--role", "admin"], ["invalid email"]),
        (["--email", "a@example.com", "--role", "client"], ["--client"]),
        (["--email", "a@example.com", "--role", "admin", "--client", "acme"], ["admin"]),
        (["--email", "a@example.com", "--role", "client", "--client", "nope"], ["unknown client", "nope"]),
        (["--email", "a@example.com", "--role", "owner"], ["--role"]),
        (["--email", "a@example.com"], ["--role"]),
    ],
)
def test_bad_user_input_is_refused(app, runner, args, fragments):
    make_client("Acme")
    result = zarts(runner, "create-user", "--password", "long-enough-pw", *args, "--json")
    assert_one_line_error(result, *fragments)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_short_password_is_refused(app, runner):
    result = zarts(runner, "create-user", "--email", "a@example.com", "--password", "short", "--role", "admin")
    assert_one_line_error(result, "password", "8")
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_duplicate_email_is_refused_whatever_its_case(app, runner):
    make_user("admin", email="ops@example.com")
    result = zarts(runner, "create-user", "--email", "OPS@example.com", "--password", "long-enough-pw", "--role", "admin")
    assert_one_line_error(result, "ops@example.com", "exists")
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


# create-connection


def _connection_args(client, owner, **overrides):
    values = {"--provider": "standard_webhooks", "--client": client.slug, "--owner": owner.email,
              "--reason": "Website form leads feed the new-leads card."}
    values.update(overrides)
    args = []
    for option, value in values.items():
        if value is not None:
            args += [option, value]
    return args


def test_create_connection_json(app, runner):
    client, owner = make_client("Acme"), make_user("admin")
    data = one_json_object(zarts(runner, "create-connection", *_connection_args(client, owner), "--json"))
    assert set(data) >= {"id", "provider_key", "connection_key", "ingest_path", "secret"}
    assert data["provider_key"] == "standard_webhooks"
    assert data["ingest_path"] == f"/webhooks/standard_webhooks/{data['connection_key']}"
    assert len(data["connection_key"]) >= 20
    assert data["secret"].startswith("whsec_")
    connection = db.session.get(Connection, data["id"])
    assert connection.owner_id == owner.id and connection.client_id == client.id
    assert connection.reason == "Website form leads feed the new-leads card."
    assert secrets.decrypt(connection.secret_encrypted) == data["secret"]


def test_create_connection_human_output_shows_path_and_secret(app, runner):
    client, owner = make_client("Acme"), make_user("admin")
    result = zarts(runner, "create-connection", *_connection_args(client, owner, **{"--provider": "github"}))
    assert result.exit_code == 0, result.output
    connection = db.session.scalar(db.select(Connection))
    assert connection.ingest_path in result.stdout
    assert secrets.decrypt(connection.secret_encrypted) in result.stdout


@pytest.mark.parametrize(
    "overrides, fragments",
    [
        ({"--provider": "nope"}, ["unknown provider", "nope"]),
        ({"--client": "nope"}, ["unknown client", "nope"]),
        ({"--owner": "nobody@example.com"}, ["unknown user", "nobody@example.com"]),
        ({"--reason": ""}, ["reason"]),
        ({"--reason": "   "}, ["reason"]),
        ({"--reason": None}, ["--reason"]),
        ({"--provider": None}, ["--provider"]),
    ],
)
def test_bad_connection_input_is_refused(app, runner, overrides, fragments):
    client, owner = make_client("Acme"), make_user("admin")
    result = zarts(runner, "create-connection", *_connection_args(client, owner, **overrides), "--json")
    assert_one_line_error(result, *fragments)
    assert db.session.scalar(db.select(db.func.count()).select_from(Connection)) == 0


def test_owner_must_be_an_admin(app, runner):
    client = make_client("Acme")
    client_user = make_user("client", client=client)
    result = zarts(runner, "create-connection", *_connection_args(client, client_user), "--json")
    assert_one_line_error(result, client_user.email, "admin")
    assert db.session.scalar(db.select(db.func.count()).select_from(Connection)) == 0


# events


def _event(connection, dedupe_key, status="received"):
    event = WebhookEvent(connection_id=connection.id, dedupe_key=dedupe_key, event_type="form.submitted", status=status)
    db.session.add(event)
    db.session.commit()
    return event


def test_events_json(app, runner):
    first, _ = make_connection("standard_webhooks")
    second, _ = make_connection("standard_webhooks")
    a = _event(first, "msg_a")
    b = _event(first, "msg_b", status="dead_lettered")
    c = _event(second, "msg_c", status="normalized")

    data = one_json_object(zarts(runner, "events", "--json"))
    assert data["count"] == 3
    assert {e["id"] for e in data["events"]} == {a.id, b.id, c.id}
    row = next(e for e in data["events"] if e["id"] == b.id)
    assert row["status"] == "dead_lettered"
    assert row["connection_id"] == first.id
    assert row["dedupe_key"] == "msg_b"

    by_connection = one_json_object(zarts(runner, "events", "--connection", str(first.id), "--json"))
    assert {e["id"] for e in by_connection["events"]} == {a.id, b.id}
    by_status = one_json_object(zarts(runner, "events", "--status", "normalized", "--json"))
    assert [e["id"] for e in by_status["events"]] == [c.id]


def test_events_json_when_there_are_none(app, runner):
    assert one_json_object(zarts(runner, "events", "--json")) == {"events": [], "count": 0}


def test_events_with_unknown_status_is_refused(app, runner):
    assert_one_line_error(zarts(runner, "events", "--status", "bogus", "--json"), "--status")


# demo


def test_demo_loads_once_and_prints_logins(app, runner, client):
    first = zarts(runner, "demo")
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.stdout
    for login in demo.LOGINS:
        assert login["email"] in first.stdout and login["password"] in first.stdout
    counts = {model: db.session.scalar(db.select(db.func.count()).select_from(model))
              for model in (Client, User, Connection)}
    assert counts[Client] >= 2 and counts[User] >= 3 and counts[Connection] >= 5

    second = zarts(runner, "demo")
    assert second.exit_code == 0, second.output
    assert "already present" in second.stdout
    assert "Demo data loaded." not in second.stdout
    for login in demo.LOGINS:
        assert login["email"] in second.stdout
    assert counts == {model: db.session.scalar(db.select(db.func.count()).select_from(model))
                      for model in (Client, User, Connection)}

    for login in demo.LOGINS:
        response = client.post("/login", data={"email": login["email"], "password": login["password"]})
        assert response.status_code == 302, login["email"]
        client.post("/logout")


def test_demo_json(app, runner):
    data = one_json_object(zarts(runner, "demo", "--json"))
    assert data["created"] is True
    assert [login["email"] for login in data["logins"]] == [login["email"] for login in demo.LOGINS]
    assert one_json_object(zarts(runner, "demo", "--json"))["created"] is False
