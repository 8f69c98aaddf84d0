"""Access-control sweep over every /admin and /portal route, discovered from the URL map.

Routes are read from a freshly built app at collection time, so a route added later is swept
without touching this file.
"""
import uuid

import pytest
from cryptography.fernet import Fernet
from werkzeug.routing import AnyConverter, FloatConverter, UUIDConverter

from tests import backends
from tests.factories import make_user
from zarts import create_app

GUARDED_PREFIXES = ("/admin", "/portal")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _dummy(converter):
    """A value the converter accepts, so the URL can be built."""
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if isinstance(converter, FloatConverter):
        return 1.0
    return 1  # int, string and path converters all accept it


def guarded_routes():
    """(method, url, area) for every rule under /admin or /portal, every method but HEAD/OPTIONS."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "SECRET_KEY": "route-discovery",
        "ZARTS_SECRETS_KEY": Fernet.generate_key().decode(),
        # The first app of the process fixes the login limiter's key prefix (Flask-Limiter keeps it):
        # the run's own, so counters never outlive the run nor meet another run's.
        "ZARTS_QUEUE_PREFIX": f"zarts-test-{backends.RUN_ID}",
    })
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(GUARDED_PREFIXES):
            continue
        values = {name: _dummy(conv) for name, conv in rule._converters.items()}
        area = "admin" if rule.rule.startswith("/admin") else "portal"
        for method in sorted(rule.methods - SKIPPED_METHODS):
            _domain, url = rule.build(values)  # this rule, even if its endpoint has several
            found.append(pytest.param(method, url, area, id=f"{method} {rule.rule}"))
    return found


ROUTES = guarded_routes()
ADMIN_ROUTES = [p for p in ROUTES if p.values[2] == "admin"]
PORTAL_ROUTES = [p for p in ROUTES if p.values[2] == "portal"]


def test_sweep_found_admin_and_portal_routes():
    assert ADMIN_ROUTES, "no /admin routes were discovered"
    assert PORTAL_ROUTES, "no /portal routes were discovered"
    assert ("GET", "/admin/") in [(p.values[0], p.values[1]) for p in ADMIN_ROUTES]
    assert ("GET", "/portal/") in [(p.values[0], p.values[1]) for p in PORTAL_ROUTES]


@pytest.mark.parametrize("method, url, area", ROUTES)
def test_anonymous_is_sent_to_login(client, method, url, area):
    response = client.open(url, method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("method, url, area", ROUTES)
def test_anonymous_htmx_request_gets_hx_redirect(client, method, url, area):
    response = client.open(url, method=method, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "Location" not in response.headers


@pytest.mark.parametrize("method, url, area", ADMIN_ROUTES)
def test_client_user_is_forbidden_on_admin_routes(client, login, method, url, area):
    login(make_user("client"))
    response = client.open(url, method=method)
    assert response.status_code == 403


@pytest.mark.parametrize("method, url, area", PORTAL_ROUTES)
def test_admin_is_forbidden_on_portal_routes(client, login, method, url, area):
    login(make_user("admin"))
    response = client.open(url, method=method)
    assert response.status_code == 403


@pytest.mark.parametrize("method, url, area", ADMIN_ROUTES)
def test_client_user_htmx_request_is_forbidden_too(client, login, method, url, area):
    login(make_user("client"))
    response = client.open(url, method=method, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert "HX-Redirect" not in response.headers
