"""Sessions end for real: logout and a password change revoke every copy of a session or remember cookie.

Browsers here talk to an app of their own: the test's app context (and its flask.g, where
Flask-Login keeps the current user) would otherwise carry one browser's login into the next
browser's request, which a real server never does.
"""
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from tests.factories import PASSWORD, make_user
from zarts import create_app
from zarts.auth import load_user
from zarts.extensions import db
from zarts.models import AdminAction, User
from zarts.services import DomainError
from zarts.services.setup import accounts

REMEMBER = "remember_token"


@pytest.fixture
def browser(app_config):
    """browser(cookie_name=None, value=None): a new browser, holding only that cookie if given."""
    server = create_app(app_config)

    def new_browser(name=None, value=None):
        client = server.test_client()
        if name:
            client.set_cookie(name, value)
        return client

    yield new_browser
    with server.app_context():
        db.engine.dispose()


def _logged_in(client):
    """True when the browser's cookies belong to a logged-in admin."""
    return client.get("/admin/").status_code == 200


def _login(client, user, password=PASSWORD, remember=False):
    data = {"email": user.email, "password": password, **({"remember": "y"} if remember else {})}
    return client.post("/login", data=data)


def _remember_login(client, user):
    """Log in with "keep me signed in"; the remember cookie's value."""
    assert _login(client, user, remember=True).status_code == 302
    return client.get_cookie(REMEMBER).value


def test_a_session_cookie_copied_before_logout_is_rejected_after(app, browser):
    user, mine = make_user("admin"), browser()
    assert _login(mine, user).status_code == 302
    copied = browser(app.config["SESSION_COOKIE_NAME"], mine.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    assert _logged_in(copied)
    assert mine.post("/logout").status_code == 302
    assert not _logged_in(copied)


def test_a_remember_cookie_alone_logs_in_until_logout(app, browser):
    user, mine = make_user("admin"), browser()
    remember = _remember_login(mine, user)
    assert _logged_in(browser(REMEMBER, remember))
    mine.post("/logout")
    assert not _logged_in(browser(REMEMBER, remember))


def test_the_remember_cookie_differs_after_logout_and_login(app, browser):
    user, mine = make_user("admin"), browser()
    first = _remember_login(mine, user)
    mine.post("/logout")
    second = _remember_login(mine, user)
    assert second != first
    assert _logged_in(browser(REMEMBER, second))
    assert not _logged_in(browser(REMEMBER, first))


def test_logout_ends_only_that_users_sessions(app, browser):
    stays, leaves = make_user("admin"), make_user("admin")
    theirs, mine = browser(), browser()
    assert _login(theirs, stays).status_code == 302 and _login(mine, leaves).status_code == 302
    mine.post("/logout")
    assert _logged_in(theirs)


def test_a_password_change_ends_existing_sessions(app, browser):
    user, mine = make_user("admin"), browser()
    assert _login(mine, user).status_code == 302
    accounts.change_password(user, "a-brand-new-password")
    db.session.commit()
    assert not _logged_in(mine)
    assert _login(mine, user).status_code == 200, "the old password no longer works"
    assert _login(mine, user, "a-brand-new-password").status_code == 302


def test_a_password_change_is_checked_like_creation_and_audited(app):
    user = make_user("admin")
    with pytest.raises(DomainError, match="at least 8"):
        accounts.change_password(user, "short")
    accounts.change_password(user, "long-enough-password")
    db.session.commit()
    row = db.session.scalar(db.select(AdminAction).filter_by(action="user.change_password"))
    assert (row.target_type, row.target_id) == ("user", str(user.id))
    assert "long-enough-password" not in str(row.after) and user.password_hash not in str(row.after)
    assert db.session.get(User, user.id).check_password("long-enough-password")


def test_the_remember_cookie_expires_after_fourteen_days(app, client):
    response = _login(client, make_user("admin"), remember=True)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(REMEMBER + "="))
    expires = next(part.split("=", 1)[1] for part in cookie.split("; ") if part.lower().startswith("expires="))
    lifetime = parsedate_to_datetime(expires) - datetime.now(timezone.utc)
    assert timedelta(days=14) - timedelta(minutes=5) < lifetime <= timedelta(days=14)


@pytest.mark.parametrize("junk", ["", "1", "abc", "1:", ":0", "1:0:0", "-1:0", "1:-1", "1:x", "²:0", "1:²",
                                  f"{2**63}:0", f"{2**64}:0", "1" * 40 + ":0", "1:" + "9" * 40, "1\n:0"])
def test_junk_user_ids_load_nobody(app, junk):
    make_user("admin")
    assert load_user(junk) is None


def test_only_the_current_session_version_loads_the_user(app):
    user = make_user("admin")
    assert load_user(user.get_id()) == user
    old = user.get_id()
    accounts.revoke_sessions(user)
    db.session.commit()
    assert load_user(old) is None
    assert load_user(db.session.get(User, user.id).get_id()) == user
