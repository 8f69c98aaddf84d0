"""The production server, as `make serve` starts it, cannot be stalled by slow or idle clients.

Starts serve.py on a free 127.0.0.1 port against a throwaway SQLite database, holds clients that
never finish their headers, clients that trickle their bodies a byte at a time (each kind more
than any thread pool would have), and idle keep-alive connections, and checks that deliveries and
pages are still answered at once. Bounded: about 15 s.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.jobs.processes import free_port, kill

ROOT = Path(__file__).resolve().parent.parent
WORKERS, SLOW, IDLE = 2, 40, 200


def _flask(env, *args):
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


# The control: a thread-per-request server as the README once deployed it (gunicorn gthread, 2 threads), in one
# process: with two, a busy machine could hand every slow client to one process and leave the other's threads free.
THREADED = [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "2",
            "--log-level", "warning"]


@pytest.fixture
def served(tmp_path, request):
    """(base URL, port, connection JSON) of serve.py (or, parametrized, another server) on a fresh database."""
    command = getattr(request, "param", None)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(ZARTS_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path}/serve.sqlite",
               SECRET_KEY="serve-test", ZARTS_SECRETS_KEY=Fernet.generate_key().decode(),
               HOST="127.0.0.1", PORT=str(free_port()), WEB_WORKERS=str(WORKERS))
    _flask(env, "db", "upgrade")
    client = json.loads(_flask(env, "zarts", "create-client", "--name", "Serve", "--json"))
    _flask(env, "zarts", "create-user", "--email", "ops@serve.example", "--password", "serve-pass-1",
           "--role", "admin", "--json")
    connection = json.loads(_flask(env, "zarts", "create-connection", "--provider", "standard_webhooks",
                                   "--client", client["slug"], "--owner", "ops@serve.example",
                                   "--reason", "serving test", "--json").strip().splitlines()[-1])
    log = open(tmp_path / "serve.log", "wb")
    command = [*command, "--bind", f"127.0.0.1:{env['PORT']}", "wsgi:app"] if command else [sys.executable, "serve.py"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
    yield base, int(env["PORT"]), connection
    kill(proc)
    log.close()


def deliver(base, connection, n, timeout=5):
    from zarts.services.ingest import signatures

    body = json.dumps({"type": "lead.created", "data": {"id": f"lead_{n}", "email": "x@example.com"}}).encode()
    headers = signatures.sign("standard", body, connection["secret"], msg_id=f"msg_serve_{n}")
    request = urllib.request.Request(base + connection["ingest_path"], data=body, method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


class Stallers:
    """`slow` clients that send a header line every half second and never finish; as many that
    send whole headers and then trickle their body a byte at a time; `idle` keep-alive
    connections that made one request and then say nothing."""

    def __init__(self, port, slow, idle, path="/webhooks/x/y"):
        self.port, self.slow, self.idle, self.path = port, slow, idle, path
        self.stop, self.socks, self.cut_off = threading.Event(), [], 0
        self.holding = threading.Semaphore(0)  # released once per slow client that has started

    def __enter__(self):
        for _ in range(self.idle):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: serve\r\n\r\n")
            sock.recv(65536)
            self.socks.append(sock)
        for n in range(self.slow):
            threading.Thread(target=self._trickle, args=(n,), daemon=True).start()
            threading.Thread(target=self._trickle_body, daemon=True).start()
        deadline = time.monotonic() + 20  # on a busy machine the threads take a while to start
        for _ in range(2 * self.slow):
            assert self.holding.acquire(timeout=max(0.1, deadline - time.monotonic())), "slow clients did not start"
        time.sleep(0.5)  # and the server has taken them up
        return self

    def _trickle_body(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            sock.sendall(f"POST {self.path} HTTP/1.1\r\nHost: serve\r\nContent-Type: application/json\r\n"
                         "Content-Length: 1000\r\n\r\n{".encode())
            self.holding.release()
            while not self.stop.wait(0.5):
                sock.sendall(b" ")
        except OSError:
            self.cut_off += 1
        finally:
            sock.close()

    def _trickle(self, n):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            sock.sendall(b"POST /webhooks/x/y HTTP/1.1\r\nHost: serve\r\n")
            self.holding.release()
            while not self.stop.wait(0.5):
                sock.sendall(f"X-Slow-{n}: still here\r\n".encode())
        except OSError:
            self.cut_off += 1  # the server hung up on it
        finally:
            sock.close()

    def __exit__(self, *exc):
        self.stop.set()
        for sock in self.socks:
            sock.close()


def test_slow_and_idle_clients_do_not_stall_deliveries_or_pages(served):
    base, port, connection = served
    with Stallers(port, slow=SLOW, idle=IDLE, path=connection["ingest_path"]) as stallers:
        started = time.monotonic()
        answers = [deliver(base, connection, n) for n in range(20)]
        health = urllib.request.urlopen(base + "/healthz", timeout=5).status
        login = urllib.request.urlopen(base + "/login", timeout=5).status
        took = time.monotonic() - started
        assert stallers.cut_off == 0  # they were all still holding on while we were served
    assert answers == [202] * 20 and health == 200 and login == 200
    assert took < 5, f"22 requests took {took:.1f} s beside {SLOW} slow-header and {SLOW} slow-body clients"


@pytest.mark.parametrize("served", [THREADED], indirect=True)
def test_the_same_clients_stall_a_thread_per_request_server(served):
    base, port, connection = served
    with Stallers(port, slow=SLOW, idle=0, path=connection["ingest_path"]):
        with pytest.raises(OSError):  # a timeout: every thread waits on a slow client
            deliver(base, connection, 0, timeout=3)


def test_serve_settings_come_from_the_environment_with_defaults_for_the_database():
    sys.path.insert(0, str(ROOT))
    import serve

    def option(cmd, name):
        return cmd[cmd.index(name) + 1]

    mysql = serve.command({"DATABASE_URL": "mysql+pymysql://u@db/zarts"})
    assert option(mysql, "--worker-class") == "gevent" and option(mysql, "--workers") == str(os.cpu_count() or 1)
    assert option(mysql, "--bind") == "0.0.0.0:8000" and mysql[-1] == "wsgi:app"
    # SQLite lets one process write at a time: one gevent process gathers every delivery into its group commit.
    assert option(serve.command({}), "--workers") == "1"
    assert option(serve.command({"DATABASE_URL": "sqlite:///x.db", "WEB_WORKERS": "3"}), "--workers") == "3"
    custom = serve.command({"HOST": "::1", "PORT": "9000", "WEB_CONNECTIONS": "50", "WEB_KEEPALIVE": "2"})
    assert (option(custom, "--bind"), option(custom, "--worker-connections"), option(custom, "--keep-alive")) == (
        "[::1]:9000", "50", "2")
    for bad in ({"PORT": "http"}, {"WEB_WORKERS": "0"}, {"WEB_CONNECTIONS": "-5"}):
        with pytest.raises(SystemExit, match="must be a whole number above 0"):
            serve.command(bad)
