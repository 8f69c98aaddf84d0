"""CSRF is enforced on forms and htmx posts; only the provider-facing webhooks are exempt."""
import re

import pytest

from tests.factories import PASSWORD, make_user

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
