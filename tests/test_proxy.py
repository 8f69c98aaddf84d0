"""Behind a reverse proxy (TRUSTED_PROXY_HOPS): the client's own address and scheme, never the proxy's."""
import uuid

import pytest


def _address():
    """A client address no other test uses (limit counters in Redis outlive a test)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def _failed_login(client, forwarded_for):
    """One wrong login from forwarded_for, each for a different account (only the address limit counts)."""
    return client.post("/login", headers={"X-Forwarded-For": forwarded_for},
                       data={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "wrong-password"})


@pytest.fixture
def proxied_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True, TRUSTED_PROXY_HOPS=1)
    return app_config


@pytest.fixture
def unproxied_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True, TRUSTED_PROXY_HOPS=0)
    return app_config


@pytest.fixture
def production_config(app_config, request):
    app_config.update(ZARTS_ENV="production", TRUSTED_PROXY_HOPS=request.param)
    return app_config


def test_behind_a_trusted_proxy_each_client_address_has_its_own_login_bucket(proxied_config, app, client):
    first, second = _address(), _address()
    for _ in range(10):
        assert _failed_login(client, first).status_code == 200
    assert _failed_login(client, first).status_code == 429
    assert _failed_login(client, second).status_code == 200, "another client behind the proxy is not locked out"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(unproxied_config, app, client):
    proxy = _address()
    for _ in range(10):
        response = client.post("/login", headers={"X-Forwarded-For": _address()}, environ_base={"REMOTE_ADDR": proxy},
                               data={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "wrong"})
        assert response.status_code == 200
    forged = client.post("/login", headers={"X-Forwarded-For": _address()}, environ_base={"REMOTE_ADDR": proxy},
                         data={"email": "nobody@example.com", "password": "wrong"})
    assert forged.status_code == 429, "a client must not pick its own bucket with a header"


@pytest.mark.parametrize("production_config, hsts", [(1, True), (0, False)], indirect=["production_config"])
def test_hsts_follows_the_proxys_https_only_when_the_proxy_is_trusted(production_config, app, client, hsts):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": _address()})
    assert response.status_code == 200
    assert ("Strict-Transport-Security" in response.headers) is hsts
    if hsts:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
