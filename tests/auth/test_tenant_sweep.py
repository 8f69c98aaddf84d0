"""Cross-tenant sweep over every portal URL and every admin GET (as an htmx partial), filled with
real ids of one client's objects: the owner gets 200, anyone else 404 (portal) or 403 (admin).

URLs come from the URL map, so a new route is swept without touching this file; one that needs
an id this file does not build, or cannot answer 200 as it stands, fails until it is added here.
"""
from tests.auth.conftest import HX, OWNER_ONLY
from tests.factories import PASSWORD, make_client, make_connection, make_user
from tests.portal.test_portal import revenue_metric
from tests.routes import route_urls

# GET routes that cannot answer 200 as they stand: {rule: (status as owner, why)}. Each is still
# swept for outsiders. None today: every admin and portal GET answers 200 with the ids alone.
NOT_200_AS_IS = {}
# Portal pages without an id that show no cards (the outsider has nothing of their own there).
PAGES_WITHOUT_CARDS = {"/portal/imports"}
# Partials that only a query argument or a header selects, swept as well.
EXTRA_PARTIALS = [
    ("/admin/events/{event_id}?part=status", {}),
    ("/admin/events/{event_id}?part=history", {}),
    ("/admin/connections/{connection_id}/syncs", {"HX-Target": "sync-runs"}),
    ("/admin/events?connection={connection_id}&cursor={cursor}", {}),  # the explorer's "load more" rows
    ("/admin/events/bulk-retry?connection={connection_id}", {}),
]


def signed_in(app, user):
    """A test client of its own, logged in as user."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def rule_of(app, url):
    """The URL rule a GET of url reaches."""
    return app.url_map.bind("").match(url.split("?")[0], method="GET", return_rule=True)[0]


def owner_expects(app, url):
    """The status the owner gets: 200, unless the route is listed in NOT_200_AS_IS."""
    return NOT_200_AS_IS.get(rule_of(app, url).rule, (200,))[0]


def admin_urls(app, owned):
    """Every admin GET URL with the owned ids, and the extra partials, as (url, extra headers)."""
    plain = [(url, {}) for url in route_urls(app, "/admin", owned["ids"])]
    values = {**owned["ids"], "cursor": owned["cursor"]}
    return plain + [(template.format(**values), headers) for template, headers in EXTRA_PARTIALS]


def test_every_id_a_get_route_takes_is_built_here(app, owned):
    """A route with an id this sweep does not fill would be swept with a made-up id: add it above."""
    missing = {rule.rule: sorted(set(rule.arguments) - set(owned["ids"])) for rule in app.url_map.iter_rules()
               if rule.rule.startswith(("/admin", "/portal")) and set(rule.arguments) - set(owned["ids"])}
    assert missing == {}
    assert owned["cursor"], "the explorer needs a second page for its load-more partial"
    get_rules = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert set(NOT_200_AS_IS) <= get_rules


def test_the_owner_gets_every_portal_url(app, owned):
    owner = signed_in(app, make_user("client", client=owned["customer"]))
    urls = route_urls(app, "/portal", owned["ids"])
    assert len(urls) >= 3 and f"/portal/cards/{owned['ids']['card_id']}" in urls
    for headers in ({}, HX):
        responses = {url: owner.get(url, headers=headers) for url in urls}
        assert {url: r.status_code for url, r in responses.items()} == {url: owner_expects(app, url) for url in urls}
        assert [url for url, r in responses.items() if OWNER_ONLY not in r.get_data(as_text=True)] == []


def test_another_client_gets_404_for_every_portal_url_with_the_owners_ids(app, owned):
    other_customer = make_client()
    other_connection, _ = make_connection("stripe", client=other_customer)
    revenue_metric(other_connection, name="Their own revenue")
    outsider = signed_in(app, make_user("client", client=other_customer))
    for headers in ({}, HX):
        for url in route_urls(app, "/portal", owned["ids"]):
            response = outsider.get(url, headers=headers)
            body = response.get_data(as_text=True)
            assert OWNER_ONLY not in body, url
            if rule_of(app, url).arguments:
                assert response.status_code == 404, url
            elif url in PAGES_WITHOUT_CARDS:  # the visitor has none of these of their own
                assert response.status_code == 200, url
            else:  # no id to refuse: the page answers with the visitor's own data only
                assert response.status_code == 200 and "Their own revenue" in body, url


def test_an_admin_gets_every_admin_partial(app, owned):
    admin = signed_in(app, owned["admin"])
    statuses = {url: admin.get(url, headers={**HX, **extra}).status_code for url, extra in admin_urls(app, owned)}
    assert statuses == {url: owner_expects(app, url) for url in statuses}


def test_the_owning_clients_user_gets_403_on_every_admin_partial(app, owned):
    insider = signed_in(app, make_user("client", client=owned["customer"]))
    statuses = {url: insider.get(url, headers={**HX, **extra}).status_code
                for url, extra in admin_urls(app, owned)}
    assert statuses == dict.fromkeys(statuses, 403)
    statuses = {url: insider.get(url).status_code for url, _ in admin_urls(app, owned)}
    assert statuses == dict.fromkeys(statuses, 403)
