"""A fake sync source on 127.0.0.1 (a real HTTP server in a thread) and helpers for health tests."""
import ipaddress
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_connection
from zarts.extensions import db
from zarts.services.sync import settings

TOKEN = "src_test_token_123"
BASE_TIME = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class FakeSource:
    """A JSON records API: cursor or updated_since pagination, scripted 429/500 answers, edits."""

    def __init__(self, count=23):
        self.lock = threading.Lock()
        self.records = {}
        self.clock = BASE_TIME
        for n in range(1, count + 1):
            self.add(f"rec_{n:03d}", name=f"Record {n}", status="new", amount=100 + n)
        self.planned = []  # (status, headers) answered instead of the next requests, in order
        self.requests = []  # (monotonic time, query dict, status)
        self.hosts = []  # the Host header of each request
        self.delay = 0.0

    def add(self, record_id, **fields):
        """A new record, updated one second after the last change."""
        with self.lock:
            self.clock += timedelta(seconds=1)
            self.records[record_id] = {"id": record_id, "type": "lead", "created_at": _iso(self.clock),
                                       "updated_at": _iso(self.clock), **fields}

    def change(self, record_id, **fields):
        """Edit a record: it moves to the end of the change feed with a new updated_at."""
        with self.lock:
            self.clock += timedelta(seconds=1)
            self.records[record_id].update(fields, updated_at=_iso(self.clock))

    def plan(self, status, times=1, **headers):
        """Answer the next `times` requests with this status (and headers), then behave again."""
        with self.lock:
            self.planned += [(status, headers)] * times

    def answer(self, query, authorization):
        """(status, headers, body dict) for one GET."""
        with self.lock:
            if authorization != f"Bearer {TOKEN}":
                return self._log(query, 401, {}, {"error": "unauthorized"})
            if self.planned:
                status, headers = self.planned.pop(0)
                return self._log(query, status, headers, {"error": "planned"})
            limit = int(query.get("limit", 100))
            ordered = sorted(self.records.values(), key=lambda r: (r["updated_at"], r.get("id", "")))
            if "updated_since" in query:
                page = [r for r in ordered if r["updated_at"] >= query["updated_since"]][:limit]
                return self._log(query, 200, {}, {"data": page})
            after = query.get("cursor")
            rest = [r for r in ordered if after is None or f"{r['updated_at']}|{r.get('id', '')}" > after]
            page = rest[:limit]
            cursor = f"{page[-1]['updated_at']}|{page[-1].get('id', '')}" if page else after
            return self._log(query, 200, {}, {"data": page, "next_cursor": cursor, "has_more": len(rest) > limit})

    def _log(self, query, status, headers, body):
        self.requests.append((time.monotonic(), dict(query), status))
        return status, headers, body

    def statuses(self):
        return [status for _, _, status in self.requests]


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _handler(source):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            if source.delay:
                time.sleep(source.delay)
            source.hosts.append(self.headers.get("Host"))
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            status, headers, body = source.answer(query, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), str(value))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


# Host names the sync tests use, and what "DNS" answers for them; no test resolves a real name.
FAKE_DNS = {"api.example.com": ["93.184.215.14"], "public.example.com": ["93.184.215.14"]}
_real_getaddrinfo = socket.getaddrinfo


def _numeric(host):
    """True for an address literal in any spelling the C resolver reads without asking DNS (127.1, 0x7f000001)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        return False


def fake_getaddrinfo(host, port, *args, **kwargs):
    """getaddrinfo for the tests: FAKE_DNS names, address literals and localhost; any other name fails."""
    name = host.decode() if isinstance(host, bytes) else host
    if name in FAKE_DNS:
        answers = FAKE_DNS[name]() if callable(FAKE_DNS[name]) else FAKE_DNS[name]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in answers]
    if name is None or name == "localhost" or _numeric(name):
        return _real_getaddrinfo(host, port, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"{name}: not a name these tests know")


@pytest.fixture(autouse=True)
def no_outside_dns(monkeypatch):
    """Sync endpoints are resolved before they are saved or fetched: from FAKE_DNS, never the network."""
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.fixture
def fake_source(app):
    """A FakeSource served on a free 127.0.0.1 port; .url is its records endpoint.

    Syncs may reach it only because this app allows internal addresses, as an on-premises install
    would (SYNC_ALLOW_PRIVATE_ADDRESSES); tests/health/test_sync_addresses.py covers the default.
    """
    app.config["SYNC_ALLOW_PRIVATE_ADDRESSES"] = True
    source = FakeSource()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(source))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    source.url = f"http://127.0.0.1:{server.server_address[1]}/v1/records"
    yield source
    server.shutdown()
    server.server_close()
    thread.join(5)


FAST = {"page_size": 5, "backoff_base_seconds": 0.05, "backoff_cap_seconds": 0.2, "retry_after_cap_seconds": 5,
        "max_retries": 3, "timeout_seconds": 5, "max_run_seconds": 60}


@pytest.fixture
def sync_connection(app, fake_source):
    """A generic_http_sync connection configured for the fake source (fast retries, pages of 5)."""
    connection, _ = make_connection("generic_http_sync", reason="Pulls the client's CRM records")
    settings.configure(connection, {"endpoint": fake_source.url, **FAST}, None, credential=TOKEN)
    return connection


def set_active(connection):
    """Go live without the onboarding gate (health rules for live connections apply)."""
    connection.lifecycle = "active"
    db.session.commit()
    return connection
