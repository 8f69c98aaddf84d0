"""Sync endpoints on internal addresses are refused, at save time and at run time, and a run
connects only to the address it checked.

Refusals are proven without sending traffic anywhere but 127.0.0.1: loopback spellings go to a
local listener that counts connections (it must count none); private and metadata ranges are
checked at the validation step only, with socket connects made to fail loudly.
"""
import json
import socket
import threading

import pytest
from sqlalchemy import select

from tests.factories import make_connection
from tests.health import conftest
from tests.health.conftest import TOKEN
from zarts.extensions import db
from zarts.models import Connection, SyncRun
from zarts.services import DomainError
from zarts.services.ingest import secrets
from zarts.services.sync import addresses, preview, pull, settings

LOOPBACK_SPELLINGS = ["127.0.0.1", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "[::1]",
                      "[::ffff:127.0.0.1]", "localhost"]
INTERNAL = ["10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "[fd00:ec2::254]",
            "[fe80::1]", "0.0.0.0", "[::]", "224.0.0.251", "240.0.0.1", "[::ffff:169.254.169.254]",
            "[::ffff:a9fe:a9fe]", "[::ffff:10.0.0.1]", "[::ffff:192.168.1.1]", "[::ffff:0.0.0.0]",
            "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::808:808]", "[2002:a9fe:a9fe::1]", "[ff02::1]", "[::a9fe:a9fe]",
            "100.100.100.200"]


class CountingListener:
    """Accepts TCP connections on 127.0.0.1 (and ::1 when it can) on one port and counts them."""

    def __init__(self):
        self.accepted = 0
        self.sockets = [socket.create_server(("127.0.0.1", 0))]
        self.port = self.sockets[0].getsockname()[1]
        try:
            self.sockets.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        except OSError:
            pass  # no IPv6 loopback here: [::1] then cannot connect anywhere either
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._serve, args=(s,), daemon=True) for s in self.sockets]
        for thread in self.threads:
            thread.start()

    def _serve(self, server):
        server.settimeout(0.05)
        while not self.stopped.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            with conn:  # answer like a source would, so nothing but the count tells it apart
                conn.recv(65536)
                body = b'{"data": [], "next_cursor": null}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def close(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join(5)
        for server in self.sockets:
            server.close()


@pytest.fixture
def listener():
    counting = CountingListener()
    yield counting
    counting.close()


@pytest.fixture
def no_connects(app):
    """Any attempt to open a connection fails the test: validation must refuse before that.

    Undone before the app's teardown, which may connect to the test database.
    """

    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened for an address that must be refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture
def sync_stub(app):
    """A sync connection with the credential set but no endpoint yet."""
    connection, _ = make_connection("generic_http_sync", reason="Pulls the client's CRM records")
    connection.secret_encrypted = secrets.encrypt(TOKEN)
    db.session.commit()
    return connection


def stored_anyway(connection, endpoint):
    """Store an endpoint without the save-time check, as if saved before DNS changed its answer."""
    connection.sync_config = {"endpoint": endpoint, "timeout_seconds": 2, "max_retries": 0}
    db.session.commit()


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_refused_at_save_time(app, listener, sync_stub, host):
    with pytest.raises(DomainError, match="the endpoint resolves to a private address"):
        settings.configure(sync_stub, {"endpoint": f"http://{host}:{listener.port}/v1/records"}, None)
    db.session.rollback()
    assert db.session.get(Connection, sync_stub.id).sync_config == {}
    assert listener.accepted == 0


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_refused_at_run_time_without_a_connection(app, listener, sync_stub, host):
    stored_anyway(sync_stub, f"http://{host}:{listener.port}/v1/records")
    run = pull.run_now(db.session.get(Connection, sync_stub.id))
    result = preview.test_sync(db.session.get(Connection, sync_stub.id))
    assert listener.accepted == 0
    assert (run.status, run.error_kind) == ("failed", "config"), run.error
    assert "the endpoint resolves to a private address" in run.error and "SYNC_ALLOW_PRIVATE_ADDRESSES" in run.error
    assert result["status"] == "failed" and "private address" in result["error"]


def test_a_name_with_one_internal_answer_is_refused_at_run_time(app, listener, sync_stub, monkeypatch):
    monkeypatch.setitem(conftest.FAKE_DNS, "mixed.example.com", ["127.0.0.1", "93.184.215.14"])
    stored_anyway(sync_stub, f"http://mixed.example.com:{listener.port}/v1/records")
    run = pull.run_now(db.session.get(Connection, sync_stub.id))
    assert listener.accepted == 0
    assert run.error_kind == "config" and "mixed.example.com (127.0.0.1) is loopback" in run.error


def test_the_listener_counts_when_internal_addresses_are_allowed(app, listener, sync_stub):
    """The positive control: the same run, allowed, reaches the listener (so 0 above means refused)."""
    app.config["SYNC_ALLOW_PRIVATE_ADDRESSES"] = True
    settings.configure(sync_stub, {"endpoint": f"http://127.1:{listener.port}/v1/records"}, None)
    run = pull.run_now(db.session.get(Connection, sync_stub.id))
    assert run.status == "succeeded", run.error
    assert listener.accepted == 1


def test_the_admin_form_and_the_cli_say_why(app, client, admin, runner, listener, sync_stub):
    endpoint = f"http://localhost:{listener.port}/v1/records"
    response = client.post(f"/admin/connections/{sync_stub.id}/sync-settings", headers={"HX-Request": "true"},
                           data={"endpoint": endpoint, "settings_json": "{}", "credential": "", "reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "the endpoint resolves to a private address" in html
    assert "Saved." not in html
    result = runner.invoke(args=["zarts", "sync-config", "--connection", str(sync_stub.id),
                                 "--set", json.dumps({"endpoint": endpoint})])
    assert result.exit_code == 1 and "the endpoint resolves to a private address" in result.stderr
    db.session.expire_all()
    assert db.session.get(Connection, sync_stub.id).sync_config == {} and listener.accepted == 0


@pytest.mark.parametrize("host", INTERNAL)
def test_internal_and_metadata_addresses_are_refused_before_any_socket_opens(app, no_connects, host):
    endpoint = f"https://{host}/latest/meta-data/"
    with pytest.raises(addresses.PrivateAddress, match="the endpoint resolves to a private address"):
        addresses.check(endpoint)
    assert addresses.endpoint_problem(endpoint).startswith("endpoint: the endpoint resolves to a private address")


@pytest.mark.parametrize("answers", [["10.1.2.3"], ["169.254.169.254"], ["fd00:ec2::254"], ["::ffff:127.0.0.1"],
                                     ["93.184.215.14", "10.0.0.5"], ["2606:4700::1111", "fe80::1"]])
def test_every_address_a_name_resolves_to_is_checked(app, no_connects, monkeypatch, answers):
    monkeypatch.setitem(conftest.FAKE_DNS, "sneaky.example.com", answers)
    with pytest.raises(addresses.PrivateAddress, match=r"sneaky\.example\.com \("):
        addresses.check("https://sneaky.example.com/v1/records")


def test_public_addresses_pass_and_the_first_checked_one_is_the_target(app, no_connects, monkeypatch):
    monkeypatch.setitem(conftest.FAKE_DNS, "public.example.com", ["93.184.215.14", "2606:4700::1111"])
    target = addresses.check("https://public.example.com:8443/v1/records")
    assert (target.address, target.host, target.port, target.host_header) == (
        "93.184.215.14", "public.example.com", 8443, "public.example.com:8443")
    assert addresses.check("http://[2606:4700::1111]/").address == "2606:4700::1111"
    for public in ("8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"):
        assert addresses.refusal(public) is None, public


def test_an_explicit_setting_allows_internal_addresses(app, no_connects):
    assert addresses.check("http://10.0.0.1/x", allow_private=True).address == "10.0.0.1"
    assert addresses.endpoint_problem("http://10.0.0.1/x") is not None
    app.config["SYNC_ALLOW_PRIVATE_ADDRESSES"] = True
    assert addresses.endpoint_problem("http://10.0.0.1/x") is None


def test_a_run_resolves_once_and_stays_on_the_checked_address(app, fake_source, sync_connection, monkeypatch):
    """A rebinding name: first 127.0.0.1 (the source), then 127.0.0.2 where nothing listens."""
    lookups = []

    def rebinding():
        lookups.append(1)
        return ["127.0.0.1"] if len(lookups) == 1 else ["127.0.0.2"]

    monkeypatch.setitem(conftest.FAKE_DNS, "rebind.example.com", rebinding)
    port = fake_source.url.split(":")[2].split("/")[0]
    sync_connection.sync_config = {**sync_connection.sync_config,
                                   "endpoint": f"http://rebind.example.com:{port}/v1/records"}
    db.session.commit()
    run = pull.run_now(sync_connection)
    assert run.status == "succeeded" and run.pages == 5, run.error
    assert len(lookups) == 1
    assert fake_source.hosts == [f"rebind.example.com:{port}"] * 5  # the name travels in the Host header


def test_a_redirect_to_an_internal_address_is_not_followed(app, fake_source, sync_connection, listener):
    fake_source.plan(302, Location=f"http://127.0.0.1:{listener.port}/latest/meta-data/")
    run = pull.run_now(sync_connection)
    assert (run.status, run.error_kind) == ("failed", "config") and "redirect" in run.error
    assert listener.accepted == 0


def test_https_to_a_pinned_address_keeps_sni_and_the_certificate_check_on_the_host_name(
        app, monkeypatch, tmp_path, sync_stub):
    from tests.health.tls import TlsSource

    app.config["SYNC_ALLOW_PRIVATE_ADDRESSES"] = True
    monkeypatch.setitem(conftest.FAKE_DNS, "records.example.com", ["127.0.0.1"])
    monkeypatch.setitem(conftest.FAKE_DNS, "elsewhere.example.com", ["127.0.0.1"])
    with TlsSource(tmp_path, "records.example.com") as tls:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))  # trust the test CA, nothing else changes
        stored_anyway(sync_stub, f"https://records.example.com:{tls.port}/v1/records")
        run = pull.run_now(db.session.get(Connection, sync_stub.id))
        assert run.status == "succeeded", run.error
        assert tls.server_names == ["records.example.com"]  # SNI carries the name, not 127.0.0.1

        # The same address under a name the certificate does not cover: refused by the check.
        stored_anyway(sync_stub, f"https://elsewhere.example.com:{tls.port}/v1/records")
        run = pull.run_now(db.session.get(Connection, sync_stub.id))
        assert run.status == "failed" and "'elsewhere.example.com' doesn't match" in run.error, run.error
        monkeypatch.delenv("SSL_CERT_FILE")
        stored_anyway(sync_stub, f"https://records.example.com:{tls.port}/v1/records")
        run = pull.run_now(db.session.get(Connection, sync_stub.id))
        assert run.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in run.error, run.error
    assert db.session.scalar(select(SyncRun.status).order_by(SyncRun.id.desc()).limit(1)) == "failed"
