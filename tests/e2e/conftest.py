"""Real-browser tests: the app served on a free loopback port, Debian's Chromium driven by Playwright.

The server runs like `make run` does (SQLite, jobs in-process) on a fresh database with the demo
data. Set E2E_REQUIRED=1 (as `make test-e2e` does) to fail instead of skipping without a browser.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "docs" / "screenshots"

from aiosmtpd.controller import Controller

from tests.notify.conftest import SMTPServer, free_port

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev requirements install it
    sync_playwright = None

missing = "playwright is not installed" if sync_playwright is None else (
    None if os.path.exists(CHROMIUM) else f"{CHROMIUM} is missing (apt-get install -y chromium)")
if missing and os.environ.get("E2E_REQUIRED"):
    raise RuntimeError(f"browser tests required but {missing}")
pytestmark = pytest.mark.skipif(bool(missing), reason=missing or "")


@dataclass
class Live:
    """The running server and an app bound to the same database, for setting up data."""

    base_url: str
    app: object
    log: Path
    mail: object  # the local SMTP server the app sends to: .messages

    def url(self, path):
        return self.base_url + path


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url, process, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} in {seconds}s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """Migrate a fresh database, load the demo, serve it; stop the server afterwards."""
    tmp = tmp_path_factory.mktemp("e2e")
    mail = SMTPServer()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port(), server_hostname="localhost")
    smtp.start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp}/e2e.sqlite", SECRET_KEY="e2e-secret-key",
               ZARTS_SECRETS_KEY=Fernet.generate_key().decode(), PORTAL_POLL_SECONDS="2",
               ZARTS_QUEUE_PREFIX=f"zarts-e2e-{os.getpid()}", ZARTS_ENV="development",
               MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port), NOTIFY_GROUP_WINDOW_MINUTES="0",
               PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["zarts", "demo"]):
        subprocess.run(flask + command, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    log = tmp / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
                                  env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/healthz", server, log)
        from zarts import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": env["SECRET_KEY"],
                          "ZARTS_SECRETS_KEY": env["ZARTS_SECRETS_KEY"], "REDIS_URL": None,
                          "OUTBOX_SYNC": True, "EMBEDDED_SWEEPER": False})
        yield Live(base, app, log, mail)
    finally:
        smtp.stop()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    # A page whose scripts broke (or hit the CSP) fails the test that used it.
    assert [e for e in errors if "Failed to load resource" not in e] == []  # HTTP statuses are asserted by the tests


@pytest.fixture(scope="session")
def account_state(browser, live):
    """account_state(email, password): the account's cookies, from one login per account per run,
    so the login limits (10 a minute per address, 10 per account in 15 minutes) hold here too."""
    states = {}

    def state(email, password):
        if email not in states:
            context = browser.new_context()
            login(context.new_page(), live, email, password)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state


@pytest.fixture
def open_as(browser, account_state):
    """open_as(email, password): a new page signed in as that account; script errors fail the test."""
    contexts, errors = [], []

    def do_open(email, password):
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      storage_state=account_state(email, password))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(f"{msg.text} at {msg.location}") if msg.type == "error" else None)
        return page

    yield do_open
    for context in contexts:
        context.close()
    assert [e for e in errors if "Failed to load resource" not in e] == []


def sign_in(page, live, account_state, email, password):
    """As login(), from the run's one login per account (its cookies), landing where a login lands."""
    page.context.clear_cookies()
    page.context.add_cookies(account_state(email, password)["cookies"])
    page.goto(live.url("/"))


def login(page, live, email, password):
    """Log in through the form, as a person would."""
    page.goto(live.url("/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def screenshot(page, name, full_page=True):
    """Keep a screenshot for the README: the full page, or what the screen shows."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def no_reload_marker(page):
    """Set a marker on window: it survives htmx swaps and disappears on a page load."""
    page.evaluate("window.__noReload = 'still here'")


def assert_not_reloaded(page):
    assert page.evaluate("window.__noReload") == "still here"


__all__ = ["login", "sign_in", "screenshot", "no_reload_marker", "assert_not_reloaded", "shutil"]
