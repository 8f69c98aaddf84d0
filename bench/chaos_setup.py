"""Pieces of bench/chaos.py: a portal of its own (database, Redis, web app, workers), the workload,
the provider that sends it, and the check of what the database holds afterwards.

Talks to 127.0.0.1 only; close_portal() stops what open_portal() started and drops its database.
"""
import heapq
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timezone
from decimal import Decimal

import urllib3
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import harness
from tests.factories import make_connection, signed_delivery
from tests.jobs.processes import RedisServer, kill
from tests.jobs.test_reliability import _object_event
from tests.webhooks.test_database_outage import TcpProxy

ROOT = harness.ROOT
FINAL = ("normalized", "ignored", "dead_lettered", "resolved_manually")
PROVIDERS = ("stripe", "standard_webhooks")
UNMAPPED_TYPE = "customer.tax_id.created"  # a Stripe event type the default mapping has no rule for
WORKERS = 2


@dataclass
class Delivery:
    """One delivery a provider sends (twice, for a duplicate), and what its provider object must end as."""

    msg_id: str
    provider: str
    event_type: str
    body: bytes
    record: tuple | None = None  # (object type, external id); None for an unmapped event type
    version: int = 0  # later events of an object are newer
    state: tuple = ()  # (status, metrics) the object ends with if this is its newest stored event


def workload(size, seed):
    """size deliveries in shuffled order: provider objects with 1-3 events each (test_reliability's
    objects: Stripe payments and subscriptions, Standard Webhooks leads), 6% of an unmapped event
    type and 3% sent twice (the same id and body). The newer events of an object often come first."""
    duplicates, unmapped = size * 3 // 100, size * 6 // 100
    mapped, deliveries, i = size - duplicates - unmapped, [], 0
    while len(deliveries) < mapped:
        events = 3 if i % 8 == 0 else 2 if i % 3 == 0 else 1
        for k in range(min(events, mapped - len(deliveries))):
            provider, event_type, payload, (object_type, external_id, status, metrics) = _object_event(i, k)
            deliveries.append(_delivery(len(deliveries), provider, event_type, payload, (object_type, external_id),
                                        k, (status, metrics)))
        i += 1
    for _ in range(unmapped):
        _, _, payload, _ = _object_event(0, 0)
        payload["type"] = UNMAPPED_TYPE
        deliveries.append(_delivery(len(deliveries), "stripe", UNMAPPED_TYPE, payload))
    rng = random.Random(seed)
    deliveries += rng.sample(deliveries, duplicates)
    rng.shuffle(deliveries)
    return deliveries


def _delivery(n, provider, event_type, payload, record=None, version=0, state=()):
    msg_id = f"msg_chaos_{n}"
    if provider == "stripe":
        payload["id"] = msg_id  # Stripe's dedupe key is the payload's event id
    return Delivery(msg_id, provider, event_type, json.dumps(payload).encode(), record, version, state)


@dataclass
class Portal:
    """One throwaway portal: its database, a Redis of its own, the web app under serve.py, workers."""

    database_url: str  # straight to MariaDB: what the bench itself reads
    app_database_url: str  # what the web app and workers use (through the proxy, when there is one)
    redis: RedisServer
    tmp: str
    env: dict
    proxy: TcpProxy | None = None
    server: object = None
    workers: list = field(default_factory=list)
    connections: dict = field(default_factory=dict)  # provider key -> (connection id, ingest path, secret)
    engine: object = None

    def start_worker(self):
        """One more `python worker.py` (with its sweeper, as production runs it), in its own process group:
        RQ may start helper processes, and a kill must take them down too."""
        log = open(os.path.join(self.tmp, f"worker-{len(self.workers)}.log"), "wb")
        proc = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.workers.append(proc)
        return proc

    def query(self, sql, **params):
        """All rows of one statement, read straight from MariaDB (never through the proxy)."""
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()


def open_portal(mysql_url, proxied=False):
    """Create and migrate zarts_chaos_<pid>, set up one live Stripe and one Standard Webhooks connection,
    and start a private redis-server, the web app (serve.py: gunicorn + gevent) and WORKERS worker.py processes."""
    from zarts import create_app
    from zarts.extensions import db

    base, name = make_url(mysql_url), f"zarts_chaos_{os.getpid()}"
    server = create_engine(base.set(database=None))
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()
    url = base.set(database=name, query={"charset": "utf8mb4"})
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"zarts-chaos-{os.getpid()}-{secrets.token_hex(3)}")
    os.makedirs(tmp)
    redis = RedisServer(shutil.which("redis-server") or "redis-server", harness.free_port(), tmp)
    redis.start()
    proxy = None
    if proxied:
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 3306))
        proxy.start()
    app_url = url.set(host="127.0.0.1", port=proxy.port) if proxy else url
    config = {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False), "REDIS_URL": redis.url,
              "ZARTS_QUEUE_PREFIX": f"zarts-chaos-{os.getpid()}", "SECRET_KEY": secrets.token_hex(32),
              "ZARTS_SECRETS_KEY": Fernet.generate_key().decode()}
    env = {**os.environ, "ZARTS_ENV": "development", "DATABASE_URL": app_url.render_as_string(hide_password=False),
           **{k: v for k, v in config.items() if k != "SQLALCHEMY_DATABASE_URI"}}
    portal = Portal(config["SQLALCHEMY_DATABASE_URI"], env["DATABASE_URL"], redis, tmp, env, proxy,
                    engine=create_engine(config["SQLALCHEMY_DATABASE_URI"]))
    try:
        migrated = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                                  env={**env, "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"]},
                                  capture_output=True, text=True)
        if migrated.returncode != 0:
            raise RuntimeError(f"flask db upgrade failed:\n{migrated.stderr}")
        app = create_app(config)
        with app.app_context():
            for key in PROVIDERS:
                connection, secret = make_connection(key, live=True)
                portal.connections[key] = (connection.id, connection.ingest_path, secret)
            db.session.remove()
            db.engine.dispose()
        portal.server = harness.Server("wsgi:app", env, tmp, server="serve")
        for _ in range(WORKERS):
            portal.start_worker()
    except BaseException:
        close_portal(portal, keep_logs=True)
        raise
    return portal


def close_portal(portal, keep_logs=False):
    """Stop the workers, the web app, Redis and the proxy; drop the database; the logs go unless kept."""
    for proc in portal.workers:
        kill(proc)
    if portal.server is not None:
        portal.server.stop()
    portal.redis.stop()
    if portal.proxy is not None:
        portal.proxy.stop()
    url = make_url(portal.database_url)
    with portal.engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    portal.engine.dispose()
    if not keep_logs:
        shutil.rmtree(portal.tmp, ignore_errors=True)


class Provider:
    """Sends the deliveries from a few threads, paced at `rate` a second, each signed as it is sent.

    Like a provider, it sends a delivery again later when the answer is not 2xx or never comes
    (after 1, 2, 4, then 8 s: shorter than real providers wait, to keep runs short), at most
    `attempts` times. `midway` is set once `fault_at` of the deliveries have had a first answer.
    """

    def __init__(self, port, portal, deliveries, clients, rate, attempts, fault_at):
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=clients, block=True, retries=False,
                                               timeout=urllib3.Timeout(connect=2, read=30))
        self.portal, self.deliveries, self.clients = portal, deliveries, clients
        self.rate, self.attempts = rate, attempts
        self.midway_at = max(1, int(len(deliveries) * fault_at))
        self.midway = threading.Event()
        self.cond = threading.Condition()
        self.todo, self.in_flight, self.first_answers = [], 0, 0
        self.answers = Counter()  # every answer (retries too) by kind: 202, 200, 503, other, no answer
        self.outcome = {}  # delivery index -> (final 2xx status, event id), or ("gave up", None)
        self.started = self.last_answer = None

    def run(self):
        """Send everything; returns when each delivery is accepted or given up."""
        self.started = time.time()
        now = time.monotonic()
        self.todo = [(now + n / self.rate, n, 1) for n in range(len(self.deliveries))]
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.midway.set()

    def _work(self):
        while (job := self._next()) is not None:
            _, n, attempt = job
            status, event_id = self._send(self.deliveries[n])
            with self.cond:
                self.in_flight -= 1
                self.last_answer = time.time()
                self.answers[status if status in (202, 200, 503, "no answer") else "other"] += 1
                if status in (200, 202):
                    self.outcome[n] = (status, event_id)
                elif attempt < self.attempts:
                    wait = min(8, 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
                    heapq.heappush(self.todo, (time.monotonic() + wait, n, attempt + 1))
                else:
                    self.outcome[n] = ("gave up", None)
                if attempt == 1:
                    self.first_answers += 1
                    if self.first_answers >= self.midway_at:
                        self.midway.set()
                self.cond.notify_all()

    def _next(self):
        """The next (due, index, attempt) to send, once due; None when nothing is left to send."""
        with self.cond:
            while True:
                if not self.todo:
                    if self.in_flight == 0:
                        return None
                    self.cond.wait()
                    continue
                wait = self.todo[0][0] - time.monotonic()
                if wait <= 0:
                    self.in_flight += 1
                    return heapq.heappop(self.todo)
                self.cond.wait(wait)

    def _send(self, delivery):
        _, path, secret = self.portal.connections[delivery.provider]
        body, headers = signed_delivery(delivery.provider, secret, delivery.event_type, delivery.body,
                                        delivery.msg_id)
        try:
            response = self.pool.urlopen("POST", path, body=body, headers=headers)
        except urllib3.exceptions.HTTPError:
            return "no answer", None
        if response.status in (200, 202):
            return response.status, json.loads(response.data)["event_id"]
        return response.status, None


def check(portal, provider):
    """What the database holds after a run, against what the provider was told and sent."""
    events = portal.query("SELECT id, connection_id, dedupe_key, status, attempts, normalized_event_id, "
                          "processed_at FROM event_webhook_events")
    raw_rows = portal.query("SELECT COUNT(*) FROM integration_raw_events")[0][0]
    by_key = {(e.connection_id, e.dedupe_key): e for e in events}
    connection_ids = {key: cid for key, (cid, _, _) in portal.connections.items()}
    deliveries = {d.msg_id: d for d in provider.deliveries}
    answered = [(provider.deliveries[n].msg_id, provider.deliveries[n].provider, status, event_id)
                for n, (status, event_id) in provider.outcome.items() if status in (200, 202)]
    no_row = [(msg_id, status, event_id) for msg_id, provider_key, status, event_id in answered
              if getattr(by_key.get((connection_ids[provider_key], msg_id)), "id", None) != event_id]
    stored = [(deliveries[e.dedupe_key], e) for e in events]
    lost = [e.id for e in events if e.status not in FINAL]
    wrong = [e.id for d, e in stored if e.status in FINAL and e.status != ("normalized" if d.record else "ignored")]
    doubles, not_newest = _records(portal, connection_ids, stored)
    finished = [e.processed_at for e in events if e.status in FINAL and e.processed_at]
    return {
        "rows": len(events), "raw_rows": raw_rows, "accepted": len({m for m, _, _, _ in answered}),
        "no_row_2xx": len(no_row), "no_row_examples": no_row[:5],
        "final_states": dict(Counter(e.status for e in events)), "lost": len(lost),
        "doubles": doubles, "wrong": len(wrong) + not_newest,
        "worked_again": sum(1 for e in events if e.attempts > 1),
        "last_final_at": max(finished).replace(tzinfo=timezone.utc).timestamp() if finished else None,
    }


def _records(portal, connection_ids, stored):
    """(doubles, records not at their newest state) over the provider objects of the stored events
    (whose events are all final: one still being worked is counted as lost).

    A double is an object's effect applied twice: a second record for it, a second value of one of
    its metrics, or a metric above its newest value (summed twice).
    """
    newest, events_of = {}, {}
    for delivery, event in stored:
        if delivery.record is not None:
            key = (connection_ids[delivery.provider], *delivery.record)
            if key not in newest or newest[key].version < delivery.version:
                newest[key] = delivery
            events_of.setdefault(key, []).append(event)
    records = portal.query("SELECT id, connection_id, object_type, external_id, status FROM "
                           "integration_normalized_events WHERE mode = 'live'")
    rows = Counter((r.connection_id, r.object_type, r.external_id) for r in records)
    metrics, metric_rows = {}, Counter()
    for record_id, name, value in portal.query("SELECT normalized_event_id, name, value FROM "
                                               "integration_metric_values"):
        metric_rows[(record_id, name)] += 1
        metrics.setdefault(record_id, {})[name] = value
    doubles = sum(n - 1 for n in rows.values()) + sum(n - 1 for n in metric_rows.values())
    unfinished = {key for key, events in events_of.items() if any(e.status not in FINAL for e in events)}
    not_newest = len(set(newest) - set(rows) - unfinished)  # an object still being worked is counted as lost
    for r in records:
        key = (r.connection_id, r.object_type, r.external_id)
        if key not in newest:
            not_newest += 1
            continue
        if key in unfinished:
            continue
        status, expected = newest[key].state
        have = metrics.get(r.id, {})
        if any(have.get(name, 0) > Decimal(str(value)) for name, value in expected.items()):
            doubles += 1
        elif (r.status, have) != (status, {k: Decimal(str(v)) for k, v in expected.items()}):
            not_newest += 1
        not_newest += sum(1 for e in events_of[key] if e.status == "normalized" and e.normalized_event_id != r.id)
    return doubles, not_newest
