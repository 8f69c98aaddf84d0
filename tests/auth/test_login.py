"""Login, logout, the role-aware home redirect and open-redirect protection."""
import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.factories import PASSWORD, make_user
from zarts.extensions import db
from zarts.models import User


def _login(client, email, password=PASSWORD, next_url=None):
    """POST the login form, optionally with ?next=."""
    query = {"next": next_url} if next_url is not None else None
    return client.post("/login", query_string=query, data={"email": email, "password": password})


def _browser_target(location, base="http://zarts.test/login"):
    """Where a browser would go for this Location (browsers drop tabs/newlines, read \\ as /)."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    return urlsplit(urljoin(base, cleaned))


def _logged_in(client):
    """True when the test client's session belongs to a logged-in user."""
    return client.get("/").headers["Location"] != "/login"


def test_password_is_stored_as_a_salted_hash(app):
    user = make_user("admin")
    stored = db.session.scalar(db.select(User.password_hash).filter_by(id=user.id))
    assert stored and stored != PASSWORD
    assert PASSWORD not in stored
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")
    assert not user.check_password("")
    other = make_user("admin", password=PASSWORD)
    assert other.password_hash != user.password_hash, "hashes must be salted"


def test_login_with_right_password_logs_in(app, client):
    user = make_user("admin")
    response = _login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _logged_in(client)
    assert db.session.get(User, user.id).last_login_at is not None


def test_login_email_is_case_insensitive(app, client):
    make_user("admin", email="Mixed.Case@example.com")
    assert _login(client, "  MIXED.case@EXAMPLE.com ").status_code == 302


def test_wrong_password_rerenders_form_with_error(app, client):
    user = make_user("admin")
    response = _login(client, user.email, "wrong-password")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Email or password is not right." in page
    assert 'name="email"' in page and user.email in page
    assert 'value="wrong-password"' not in page, "the password must not be echoed back"
    assert not _logged_in(client)


def test_unknown_email_fails_with_the_same_message(app, client):
    make_user("admin")
    response = _login(client, "nobody@example.com")
    assert response.status_code == 200
    assert "Email or password is not right." in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_empty_form_rerenders_with_errors(app, client):
    response = client.post("/login", data={})
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_inactive_user_cannot_log_in(app, client):
    user = make_user("admin")
    user.active = False
    db.session.commit()
    response = _login(client, user.email)
    assert response.status_code == 200
    assert "Email or password is not right." in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_deactivated_user_loses_an_existing_session(app, client, login):
    user = make_user("admin")
    login(user)
    assert client.get("/admin/").status_code == 200
    db.session.get(User, user.id).active = False
    db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role, home", [("admin", "/admin/"), ("client", "/portal/")])
def test_root_sends_each_role_home(app, client, login, role, home):
    login(make_user(role))
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_anonymous_root_goes_to_login(app, client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/login").status_code == 200


def test_login_page_sends_a_logged_in_user_home(app, client, login):
    login(make_user("client"))
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_is_post_only(app, client, login):
    login(make_user("admin"))
    assert client.get("/logout").status_code == 405
    assert _logged_in(client), "a GET must not log anyone out"


def test_logout_ends_the_session(app, client, login):
    login(make_user("admin"))
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _logged_in(client)
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")


def test_logout_when_anonymous_goes_to_login(app, client):
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "http://evil.example/admin/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "https:evil.example",
        "evil.example/path",
    ],
)
def test_next_to_another_site_is_ignored(app, client, next_url):
    user = make_user("admin")
    response = _login(client, user.email, next_url=next_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    target = _browser_target(location)
    assert (target.scheme, target.netloc) == ("http", "zarts.test"), location
    if urlsplit(next_url).scheme or next_url.startswith("//"):
        assert location == "/"


def test_next_relative_path_is_honoured(app, client):
    user = make_user("admin")
    response = _login(client, user.email, next_url="/admin/?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/?page=2"


def test_anonymous_admin_visit_comes_back_after_login(app, client):
    user = make_user("admin")
    location = client.get("/admin/").headers["Location"]
    assert location.startswith("/login?next=")
    response = client.post(location, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    user = make_user("admin")
    response = _login(client, user.email)
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
    assert session, cookies
    flags = [part.strip().lower() for part in session[0].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags


def test_remember_cookie_is_httponly_and_samesite_lax(app, client):
    user = make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    remember = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert remember
    flags = [part.strip().lower() for part in remember[0].split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
