"""Configuration from the environment, generated development keys, /healthz and error pages."""
import re
import stat

import pytest
from cryptography.fernet import Fernet
from flask import Flask

import zarts
from zarts import create_app
from zarts.config import ConfigError, load_config
from zarts.extensions import db

KEY_VARS = ("SECRET_KEY", "ZARTS_SECRETS_KEY")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No keys or database from the environment or a .env file; instance/ is tmp_path."""
    for name in (*KEY_VARS, "ZARTS_ENV", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(zarts, "load_dotenv", lambda *args, **kwargs: False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    return tmp_path / "instance"


@pytest.fixture
def build_app(app_config):
    """build_app(**changes): an app on the test database with changed settings, disposed after."""
    built = []

    def build(**changes):
        app = create_app({**app_config, **changes})
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


def _names(message, name):
    return re.search(rf"(?<![A-Z_]){name}(?![A-Z_])", message) is not None


@pytest.mark.parametrize("missing", [("SECRET_KEY",), ("ZARTS_SECRETS_KEY",), KEY_VARS])
def test_production_refuses_to_start_without_keys(clean_env, monkeypatch, missing):
    monkeypatch.setenv("ZARTS_ENV", "production")
    for name in set(KEY_VARS) - set(missing):
        monkeypatch.setenv(name, Fernet.generate_key().decode())
    with pytest.raises(ConfigError) as info:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    message = str(info.value)
    for name in missing:
        assert _names(message, name), message
    for name in set(KEY_VARS) - set(missing):
        assert not _names(message.split(";")[0], name), message
    assert not clean_env.exists() or not any(clean_env.iterdir()), "no key files in production"


def test_production_starts_with_keys_and_secure_cookies(clean_env, monkeypatch):
    monkeypatch.setenv("ZARTS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-production-secret")
    monkeypatch.setenv("ZARTS_SECRETS_KEY", Fernet.generate_key().decode())
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "a-long-production-secret"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert not clean_env.exists() or not any(clean_env.iterdir())


def test_development_keys_are_generated_once_and_reused(clean_env):
    first = load_config(str(clean_env))
    second = load_config(str(clean_env))
    for name, filename in (("SECRET_KEY", "secret_key"), ("ZARTS_SECRETS_KEY", "secrets.key")):
        assert first[name] and first[name] == second[name]
        path = clean_env / filename
        assert path.read_text().strip() == first[name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(first["ZARTS_SECRETS_KEY"].encode())  # a usable Fernet key
    assert first["SESSION_COOKIE_SECURE"] is False


def test_development_app_reuses_keys_across_restarts(clean_env):
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first.instance_path == str(clean_env)
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["ZARTS_SECRETS_KEY"] == second.config["ZARTS_SECRETS_KEY"]
    assert (clean_env / "secret_key").read_text().strip() == first.config["SECRET_KEY"]


def test_environment_keys_win_over_key_files(clean_env, monkeypatch):
    load_config(str(clean_env))
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_config(str(clean_env))["SECRET_KEY"] == "from-the-environment"


def test_default_database_is_sqlite_under_instance(clean_env):
    assert load_config(str(clean_env))["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{clean_env}/zarts.sqlite"


def test_bad_number_in_environment_is_a_config_error(clean_env, monkeypatch):
    monkeypatch.setenv("WEBHOOK_MAX_BYTES", "a lot")
    with pytest.raises(ConfigError, match="WEBHOOK_MAX_BYTES"):
        load_config(str(clean_env))


# /healthz


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["queue"]["ok"] is True
    assert body["queue"]["mode"] == ("redis" if client.application.config["REDIS_URL"] else "in-process")


def test_healthz_is_503_when_the_queue_is_unreachable(build_app):
    app = build_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False
    assert body["queue"]["ok"] is False
    assert body["database"]["ok"] is True


def test_healthz_needs_no_login(client):
    assert client.get("/healthz").status_code == 200


# error pages


def test_404_is_an_html_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<html" in page and "There is nothing here." in page


def test_405_is_an_html_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/webhooks/", "/webhooks/x", "/webhooks/x/y/z"])
def test_404_under_webhooks_is_json(client, path):
    response = client.post(path, data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["status"] == 404


def test_wrong_method_under_webhooks_is_json(client):
    response = client.get("/webhooks/x/y")
    assert response.status_code == 405
    assert response.is_json


def test_500_is_an_html_page_without_details(build_app):
    app = build_app(TESTING=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.route("/webhooks/boom")
    def webhook_boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "secret internals" not in page.get_data(as_text=True)
    machine = client.get("/webhooks/boom")
    assert machine.status_code == 500
    assert machine.is_json
    assert "secret internals" not in machine.get_data(as_text=True)
