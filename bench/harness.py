"""Pieces the ingest bench is built from: throwaway backends, gunicorn targets, wrk load, CPU use.

Everything here talks to 127.0.0.1 only and cleans up after itself (temp dirs, the MariaDB
schema zarts_bench_<run>, the Redis keys of the run's queues).
"""
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# The same gunicorn settings for every target. --reuse-port gives each worker its own listening
# socket and lets the kernel spread connections over them; with one shared socket, the keep-alive
# connections wrk opens at once often all land on one worker ([16, 0] was seen), which made runs
# measure luck rather than the app.
GUNICORN_SETTINGS = ["--workers", "2", "--worker-class", "gthread", "--threads", "4",
                     "--keep-alive", "5", "--reuse-port", "--log-level", "warning"]


def gunicorn_settings(threads=4):
    """GUNICORN_SETTINGS with another --threads (a sensitivity experiment)."""
    settings = list(GUNICORN_SETTINGS)
    settings[settings.index("--threads") + 1] = str(threads)
    return settings
PROVIDER = "standard_webhooks"
SAMPLE = "lead.created"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GRACE_SECONDS = 3


@dataclass
class Backend:
    """One database (+ the shared Redis) for one run, with a zarts connection set up in it."""

    kind: str
    database_url: str
    redis_url: str
    queue_prefix: str
    tmp: str
    env: dict = field(default_factory=dict)
    connection: dict = field(default_factory=dict)

    def server_queries(self):
        """MariaDB's global statement counter (None on SQLite)."""
        if self.kind == "sqlite":
            return None
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SHOW GLOBAL STATUS LIKE 'Questions'")).one()[1])
        finally:
            engine.dispose()

    def count(self, sql):
        """One scalar from the backend's database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()


def open_backend(kind, mysql_url, redis_url):
    """A fresh, migrated database with one client, admin and Standard Webhooks connection.

    On SQLite the app's migration leaves the file in WAL mode (zarts/sqlite.py), which the naive
    endpoint then shares.
    """
    run_id = secrets.token_hex(4)
    tmp = tempfile.mkdtemp(prefix=f"zarts-bench-{kind}-")
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/bench.sqlite"
    else:
        base = make_url(mysql_url)
        name = f"zarts_bench_{run_id}"
        server = create_engine(base.set(database=None))
        with server.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        server.dispose()
        url = base.set(database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)
    backend = Backend(kind, url, redis_url, f"zarts-bench-{run_id}", tmp)
    backend.env = {
        **os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "ZARTS_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32), "ZARTS_SECRETS_KEY": Fernet.generate_key().decode(),
        "ZARTS_QUEUE_PREFIX": backend.queue_prefix,
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    _run(flask + ["db", "upgrade"], backend.env)
    client = _run_json(flask + ["zarts", "create-client", "--name", f"Bench {run_id}", "--json"], backend.env)
    email = f"bench-{run_id}@example.com"
    _run_json(flask + ["zarts", "create-user", "--email", email, "--password", secrets.token_hex(12),
                       "--role", "admin", "--json"], backend.env)
    backend.connection = _run_json(flask + [
        "zarts", "create-connection", "--provider", PROVIDER, "--client", client["slug"],
        "--owner", email, "--reason", "ingest benchmark", "--json"], backend.env)
    from bench import naive_app

    naive_app.create_table(url)
    return backend


def close_backend(backend):
    """Drop the throwaway schema, the run's Redis queues and jobs, and the temp dir."""
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(backend.redis_url)
    for name in ("default", "naive"):
        Queue(f"{backend.queue_prefix}:{name}", connection=conn).delete(delete_jobs=True)
    keys = list(conn.scan_iter(f"*{backend.queue_prefix}*"))
    if keys:
        conn.delete(*keys)
    conn.close()
    if backend.kind != "sqlite":
        url = make_url(backend.database_url)
        server = create_engine(url.set(database=None, query={}))
        with server.begin() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
        server.dispose()
    shutil.rmtree(backend.tmp, ignore_errors=True)


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout


def _run_json(cmd, env):
    return json.loads(_run(cmd, env).strip().splitlines()[-1])


def sample_body():
    """The realistic sample payload every target receives (the same bytes for a, b and c)."""
    from zarts.providers import definition

    return json.dumps(definition(PROVIDER)["samples"][SAMPLE]).encode()


def write_requests(path, body, secret, count, tag):
    """count uniquely signed deliveries (id, timestamp, signature), one per line, signed now."""
    from zarts.services.ingest import signatures

    ts = int(time.time())
    with open(path, "w") as out:
        for i in range(count):
            msg_id = f"msg_{tag}_{i:07d}"
            sig = signatures.sign("standard", body, secret, msg_id=msg_id, timestamp=ts)["webhook-signature"]
            out.write(f"{msg_id}\t{ts}\t{sig}\n")


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("gthread", "sync", "granian", "serve")  # what a target can be served with; see server_command()


def server_command(server, app_spec, port, threads=4):
    """(command, listening sockets to wait for) to serve app_spec on 127.0.0.1:port.

    gthread: the reference, gunicorn with GUNICORN_SETTINGS. sync: what the README deployed before
    `make serve`, `gunicorn --workers 2` (one request per process at a time). granian: Granian's WSGI interface
    (2 workers, `threads` blocking threads each, a 10 s header timeout), the runner-up.
    serve: exactly what `make serve` runs (serve.py: gunicorn with gevent workers, its defaults or
    the WEB_* settings in the environment), only its app swapped for the bench's targets.
    """
    if server == "gthread":
        return [os.path.join(BIN, "gunicorn"), *gunicorn_settings(threads), "--bind", f"127.0.0.1:{port}",
                app_spec], 2
    if server == "sync":
        return [os.path.join(BIN, "gunicorn"), "--workers", "2", "--log-level", "warning",
                "--bind", f"127.0.0.1:{port}", app_spec], 1
    if server == "granian":
        return [os.path.join(BIN, "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "2", "--blocking-threads", str(threads), "--http1-header-read-timeout", "10000",
                "--backpressure", "64", "--log-level", "warning", app_spec], 1
    if server == "serve":
        sys.path.insert(0, ROOT)
        import serve

        cmd = serve.command({**os.environ, "HOST": "127.0.0.1", "PORT": str(port)})
        return [*cmd[:-1], app_spec], 1
    raise ValueError(f"unknown server {server!r}; one of {', '.join(SERVERS)}")


class Server:
    """One target served on a free loopback port (gunicorn gthread unless told otherwise)."""

    def __init__(self, app_spec, env, log_dir, settings=GUNICORN_SETTINGS, server="gthread"):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"{server}-", suffix=".log", dir=log_dir, delete=False)
        threads = int(settings[settings.index("--threads") + 1]) if "--threads" in settings else 4
        cmd, self.min_listeners = server_command(server, app_spec, self.port, threads)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2).read()
            except urllib.error.HTTPError:
                pass  # any HTTP answer means a worker is serving
            except OSError:
                time.sleep(0.1)
                continue
            if self.listeners() >= self.min_listeners:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout}s: {self.log_text()}")

    def listeners(self):
        """Sockets listening on our port (one per worker with --reuse-port)."""
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        return sum(1 for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == self.port)

    def workers(self):
        """Pids of the master's worker processes (and theirs)."""
        found, todo = [], children(self.proc.pid)
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children(pid))
        return found

    def pids(self):
        return [self.proc.pid, *self.workers()]

    def stop(self):
        """SIGTERM (graceful), then SIGKILL after 15 s; only the process we started."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()[-4000:]


def children(pid):
    """Direct child pids of pid."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return out


def connections_per_worker(server):
    """{worker pid: open TCP sockets} (how the kernel spread the load generator's connections)."""
    with open("/proc/net/tcp") as f:
        established = {line.split()[9] for line in f.readlines()[1:]
                       if line.split()[3] == "01" and int(line.split()[1].split(":")[1], 16) == server.port}
    out = {}
    for pid in server.workers():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        out[pid] = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in established)
    return out


def pids_named(*names):
    """Pids whose command name is one of names (for CPU accounting of mariadbd and redis-server)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in names:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def cpu_seconds(pids):
    """User + system CPU seconds used so far by pids (still running ones)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK_TCK


def all_cpu():
    """{pid: (command name, CPU seconds so far)} for every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, tail = f.read().rsplit(")", 1)
                fields = tail.split()
                out[int(entry)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / CLK_TCK)
            except (OSError, IndexError, ValueError):
                pass
    return out


def others_cpu(before, after, ours):
    """CPU seconds other processes used between two all_cpu() snapshots, and the top users."""
    used = {pid: (name, cpu - before[pid][1]) for pid, (name, cpu) in after.items()
            if pid in before and pid not in ours and cpu > before[pid][1]}
    top = sorted(used.values(), key=lambda item: -item[1])[:3]
    return sum(cpu for _, cpu in used.values()), top


def machine_busy():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class BusySampler:
    """Samples machine CPU use in the background; busy_pct(t0, t1) over part of the run."""

    def __init__(self, every=0.25):
        self.samples, self.every = [], every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            self.samples.append((time.monotonic(), *machine_busy()))
            self.stopped.wait(self.every)

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.samples.append((time.monotonic(), *machine_busy()))

    def busy_cores(self):
        """(CPU seconds busy on the whole machine, wall seconds) from start to stop."""
        (w0, b0, _), (w1, b1, _) = self.samples[0], self.samples[-1]
        return (b1 - b0) / CLK_TCK, w1 - w0

    def busy_pct(self, start, end):
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (_, b0, t0), (_, b1, t1) = inside[0], inside[-1]
        return 100 * (b1 - b0) / max(1, t1 - t0)


def wrk(url, requests_file, body_file, seconds, threads, connections, grace=GRACE_SECONDS):
    """Run wrk with bench/loadgen.lua; its BENCH_JSON line as a dict, plus the loadgen's CPU seconds.

    loadgen.lua sends for `seconds`, then lets what is in flight finish within `grace`.
    """
    before = os.times()
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds + grace}s",
           "--timeout", f"{grace}s", "--latency", "-s", os.path.join(ROOT, "bench", "loadgen.lua"), url, "--",
           requests_file, body_file, str(threads), str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    after = os.times()
    line = next(l for l in out.splitlines() if l.startswith("BENCH_JSON "))
    result = json.loads(line[len("BENCH_JSON "):])
    result["loadgen_cpu_s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return result


class Stallers:
    """Connections that hold a server's attention without giving it work, for the whole block:
    `slow` clients that send a header line a second and never finish, `slow_bodies` clients that
    send whole headers and then trickle their body a byte a second, and `idle` keep-alive
    connections that made one request and then say nothing. All to 127.0.0.1:port."""

    def __init__(self, port, slow=2, idle=200, path="/", slow_bodies=2):
        self.port, self.slow, self.idle, self.path, self.slow_bodies = port, slow, idle, path, slow_bodies
        self.stop_event, self.threads, self.socks = threading.Event(), [], []

    def __enter__(self):
        for n in range(self.idle):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            try:
                sock.recv(65536)
            except OSError:
                pass
            self.socks.append(sock)
        for n in range(self.slow + self.slow_bodies):
            thread = threading.Thread(target=self._trickle, args=(n, n >= self.slow), daemon=True)
            thread.start()
            self.threads.append(thread)
        time.sleep(1.0)  # let them settle in before the measurement starts
        return self

    def _trickle(self, n, body):
        head = f"POST {self.path} HTTP/1.1\r\nHost: bench\r\n"
        if body:
            head += "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        while not self.stop_event.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                sock.sendall(head.encode())
                while not self.stop_event.wait(1.0):
                    # never the blank line after the headers, or never the whole body
                    sock.sendall(b" " if body else f"X-Slow-{n}: still here\r\n".encode())
            except OSError:
                pass  # the server gave up on us: come back, as an attacker would
            finally:
                try:
                    sock.close()
                except (OSError, UnboundLocalError):
                    pass

    def __exit__(self, *exc):
        self.stop_event.set()
        for sock in self.socks:
            sock.close()
        for thread in self.threads:
            thread.join(5)


def machine(**extra):
    """What the numbers were measured on (extra: more facts, e.g. the commit)."""
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "mariadb": version(["mariadb", "--version"]), "redis": version(["redis-server", "--version"]), **extra}
