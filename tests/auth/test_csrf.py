"""CSRF is enforced on forms and htmx posts; only the provider-facing webhooks are exempt.

The rest of the suite runs with CSRF off, so the sweep below posts to every POST route under
/admin, /portal, /login and /logout with it on, as a signed-in user a missing check would let through.
"""
import re

import pytest
from sqlalchemy import func, select

from tests.auth.conftest import HX
from tests.factories import PASSWORD, make_user
from tests.routes import route_urls
from zarts.extensions import db
from zarts.models import (
    AdminAction,
    BulkOperation,
    Connection,
    ConnectionMapping,
    CsvImport,
    MetricDefinition,
    PortalCard,
    ReportNote,
    WebhookEvent,
)

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def app_config(app_config):
    """The suite's settings with CSRF protection switched on."""
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(client, path="/login"):
    """The csrf_token from a page's form."""
    match = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


def _logged_in(client):
    return client.get("/").headers["Location"] != "/login"


def _login_with_token(client, user):
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": _token(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_login_without_token_is_refused(app, client):
    user = make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert not _logged_in(client)


def test_login_with_a_forged_token_is_refused(app, client):
    user = make_user("admin")
    _token(client)  # the session has a real token; the form sends another
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert not _logged_in(client)


def test_login_with_the_forms_token_succeeds(app, client):
    user = make_user("admin")
    _login_with_token(client, user)
    assert client.get("/").headers["Location"] == "/admin/"


def test_token_from_another_session_is_refused(app, client):
    user = make_user("admin")
    stolen = _token(app.test_client())
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": stolen})
    assert response.status_code == 400
    assert not _logged_in(client)


def test_logout_without_token_is_refused(app, client):
    _login_with_token(client, make_user("admin"))
    response = client.post("/logout")
    assert response.status_code == 400
    assert _logged_in(client), "a refused logout must leave the session alone"


def test_logout_with_the_pages_token_succeeds(app, client):
    _login_with_token(client, make_user("admin"))
    token = _token(client, "/admin/")  # the log-out form in the page header
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert not _logged_in(client)


def test_htmx_header_token_is_accepted(app, client):
    _login_with_token(client, make_user("client"))
    page = client.get("/portal/").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302
    assert not _logged_in(client)


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"id": "evt_1"}'),
    ("application/x-www-form-urlencoded", b"a=1"),
])
def test_webhooks_are_exempt(app, client, content_type, body):
    response = client.post("/webhooks/x/y", data=body, content_type=content_type)
    assert response.status_code != 400
    assert response.is_json


POST_PREFIXES = ("/admin", "/portal", "/login", "/logout")
# What any of these forms could plausibly carry, so a route without the check would act on it.
FORM = {"reason": "csrf sweep", "visible": "0", "done": "1", "action": "publish", "name": "Swept",
        "title": "Swept", "mapping_json": "{}", "settings_json": "{}", "endpoint": "https://api.example.com/x",
        "connection": "1", "email": "x@example.com", "password": PASSWORD}
WRITES = (AdminAction, BulkOperation, Connection, ConnectionMapping, CsvImport, MetricDefinition, ReportNote,
          WebhookEvent)


def post_urls(app, ids, prefixes=POST_PREFIXES):
    """Every POST route under prefixes, its arguments filled with real ids."""
    return [url for prefix in prefixes for url in route_urls(app, prefix, ids, method="POST")]


def rows():
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in WRITES}


def test_the_sweep_covers_every_post_route(app, owned):
    urls = post_urls(app, owned["ids"])
    assert "/login" in urls and "/logout" in urls and len([u for u in urls if u.startswith("/admin")]) >= 20
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    assert {rule.rule for rule in posts if not rule.rule.startswith(POST_PREFIXES)} == {
        "/webhooks/<provider_key>/<connection_key>",  # exempt, covered above
        "/unsubscribe/<token>",  # one click from a mail client: the signed token is the proof (tests/notify)
        "/unsubscribe/<token>/undo"}  # a form with a CSRF token (tests/notify/test_digest.py)


@pytest.mark.parametrize("role, area", [("admin", "/admin"), ("client", "/portal")])
def test_every_post_route_refuses_a_missing_token(app, client, owned, role, area):
    """Each area as the role it lets in (so only the token is missing), plus /login and /logout."""
    user = owned["admin"] if role == "admin" else make_user("client", client=owned["customer"])
    _login_with_token(client, user)
    before = rows()
    statuses = {}
    for url in post_urls(app, owned["ids"], (area, "/login", "/logout")):
        for kind, headers in (("form", {}), ("htmx", HX)):
            statuses[f"{kind} {url}"] = client.post(url, data=FORM, headers=headers).status_code
    assert statuses == dict.fromkeys(statuses, 400)
    assert rows() == before
    assert _logged_in(client), "the refused /logout left the session alone"


def test_a_post_with_a_valid_token_goes_through(app, client, owned):
    """The positive control: one of the swept posts, with the page's token, does what it says."""
    _login_with_token(client, owned["admin"])
    card_id = owned["ids"]["card_id"]
    assert f"/admin/cards/{card_id}/visibility" in post_urls(app, owned["ids"])
    page = client.get("/admin/metrics").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post(f"/admin/cards/{card_id}/visibility", data={"visible": "0"},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200 and "card-visibility" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(PortalCard, card_id).visible is False
