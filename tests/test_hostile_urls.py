"""Hostile URLs get a 4xx or a safe redirect, never a 500: over-large ids, control characters in ?next=."""
import pytest
from werkzeug.routing import IntegerConverter

from tests.factories import PASSWORD, make_user

OVERSIZED_IDS = (2**63, 2**64)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _int_routes(app, prefix):
    """(rule, names of its int arguments) for every rule under prefix with at least one <int:...>."""
    found = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if rule.rule.startswith(prefix) and ints:
            found.append((rule, ints))
    return found


def _url(rule, ints, value):
    """The rule's URL with every int argument set to value (and any other argument to 1)."""
    values = {name: (value if name in ints else 1) for name in rule.arguments}
    url = rule.rule
    for name, filled in values.items():
        url = url.replace(f"<int:{name}>", str(filled)).replace(f"<{name}>", str(filled))
    return url


@pytest.mark.parametrize("prefix, role, at_least", [("/admin", "admin", 25), ("/portal", "client", 1)])
def test_oversized_ids_are_a_404_on_every_route(app, client, login, prefix, role, at_least):
    """Every method of every route with an id (GET pages, and the POSTs behind them), as a user who may use it."""
    login(make_user(role))
    routes = _int_routes(app, prefix)
    assert len(routes) >= at_least, [rule.rule for rule, _ in routes]
    answers = {}
    for rule, ints in routes:
        for value in OVERSIZED_IDS:
            url = _url(rule, ints, value)
            for method in sorted(rule.methods - SKIPPED_METHODS):
                answers[f"{method} {url}"] = client.open(url, method=method).status_code
    assert {request: status for request, status in answers.items() if status != 404} == {}


@pytest.mark.parametrize("next_url", ["/%0D%0AX-Injected:1", "/admin/%0AX-Injected:1", "/%00", "/%7F", "/%C2%85"])
def test_login_with_a_control_character_in_next_goes_home(app, client, next_url):
    user = make_user("admin")
    response = client.post(f"/login?next={next_url}", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "X-Injected" not in response.headers
