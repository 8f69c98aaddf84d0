"""Security hardening: headers, login rate limit, no inline script anywhere."""
import re
from pathlib import Path

import pytest

from tests.factories import make_user

TEMPLATES = Path(__file__).parent.parent / "zarts" / "templates"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/webhooks/nope/nope", "/static/css/zarts.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path) if not path.startswith("/webhooks") else client.post(path)
    response.close()  # static files are streamed from an open file
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_template_has_inline_script_handlers_or_styles():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        email = path.parent.name == "notify"  # mail clients need inline styles; the preview frame has its own CSP
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", *(() if email else (r"\sstyle\s*=",)),
                        r"\|\s*safe\b", r"hx-on"):
            offenders += [f"{path.name}: {m}" for m in re.findall(pattern, text)]
    assert offenders == []


@pytest.fixture
def limited_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


def test_login_attempts_are_rate_limited(limited_config, app, client):
    user = make_user("admin")
    for _ in range(10):
        assert client.post("/login", data={"email": user.email, "password": "wrong"}).status_code == 200
    response = client.post("/login", data={"email": user.email, "password": "wrong"})
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "Too many attempts" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # showing the form is never limited


def test_a_view_that_sets_a_security_header_keeps_its_own_value(app, client):
    @app.get("/own-frame-policy")
    def own_frame_policy():
        return "ok", 200, {"X-Frame-Options": "SAMEORIGIN"}

    response = client.get("/own-frame-policy")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_webhook_deliveries_are_outside_the_login_limiter_and_get_no_session(app, client):
    """Deliveries have their own per-connection limit; they never open or set a session."""
    from flask import request
    from flask.sessions import NullSession

    from tests.factories import make_connection, signed_delivery
    from zarts.security import limiter

    connection, secret = make_connection("standard_webhooks")
    body, headers = signed_delivery("standard_webhooks", secret)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code == 202 and "Set-Cookie" not in response.headers
    for path, method, is_delivery in ((connection.ingest_path, "POST", True), ("/login", "POST", False)):
        with app.test_request_context(path, method=method):
            assert any(skip() for skip in limiter._request_filters) is is_delivery
            assert isinstance(app.session_interface.open_session(app, request), NullSession) is is_delivery
