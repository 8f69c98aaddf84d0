"""A database that stops answering: 503 with Retry-After, nothing stored, back at once when it returns.

A real outage, not a replaced function: on MariaDB the app reaches the server through a loopback
TCP proxy that the test takes down; on SQLite another connection holds the file's write lock.
"""
import os
import socket
import sqlite3
import threading

import pytest
from sqlalchemy.engine import make_url

from tests.factories import make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent

MARIADB = bool(os.environ.get("TEST_DATABASE_URL"))


class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream address until stopped (every connection cut)."""

    def __init__(self, upstream):
        self.upstream, self.port, self.socks, self.listener = upstream, 0, [], None

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in its thread
        except OSError:
            pass
        self.listener.close()
        for sock in self.socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.socks = []

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxy(app_config):
    """The app's MariaDB reached through a proxy the test can take down."""
    url = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 3306))
    proxy.start()
    app_config["SQLALCHEMY_DATABASE_URI"] = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    yield proxy
    proxy.stop()


def deliver(client, path, secret):
    body, headers = signed_delivery("github", secret)
    return client.post(path, data=body, headers=headers)


def stored():
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count(WebhookEvent.id)))


@pytest.mark.skipif(not MARIADB, reason="the proxy outage needs TEST_DATABASE_URL (real MariaDB)")
def test_mariadb_going_away_answers_503_and_stores_nothing(proxy, app, client):
    connection, secret = make_connection("github")
    path = connection.ingest_path
    assert deliver(client, path, secret).status_code == 202
    proxy.stop()  # the database stops answering: refused, every open connection cut
    db.session.remove()
    response = deliver(client, path, secret)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "retry later" in response.get_json()["error"]
    proxy.start()  # back on the same port
    assert stored() == 1
    assert deliver(client, path, secret).status_code == 202  # recovers at once
    assert stored() == 2


@pytest.mark.skipif(MARIADB, reason="the SQLite outage: the MariaDB run has its own")
def test_a_locked_sqlite_file_answers_503_and_stores_nothing(app, client):
    connection, secret = make_connection("github")
    path = connection.ingest_path
    assert deliver(client, path, secret).status_code == 202
    db_file = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(db_file, timeout=1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock and never lets go
    try:  # the write waits out SQLite's busy timeout (5 s), then gives up
        response = deliver(client, path, secret)
        assert response.status_code == 503 and response.headers["Retry-After"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored() == 1
    assert deliver(client, path, secret).status_code == 202
    assert stored() == 2
