"""Admin list benchmark: the event explorer's first page and a filtered page, 10k vs 1M events.

Run by hand from the repository root (MariaDB and Redis on 127.0.0.1):

    .venv/bin/python bench/admin_lists.py                 # 10k, then 1M webhook events
    .venv/bin/python bench/admin_lists.py --large 200000  # a quicker run

Events are bulk-inserted into a throwaway schema (zarts_bench_<run>, dropped afterwards) across
four connections and all statuses; the pages are requested through the app as a logged-in admin.
Goal: the 1M-row pages within 1.5x the 10k-row pages (indexes and keyset pagination, no COUNT(*)).
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402

BATCH = 10000
STATUSES = ("normalized",) * 16 + ("ignored", "dead_lettered", "retry_scheduled", "received")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=100, help="requests timed per page and size")
    p.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    return p.parse_args(argv)


def fill(db, connection_ids, start, count, now):
    """Bulk-insert webhook events, newest last, spread over the last 90 days."""
    from zarts.models import WebhookEvent

    table = WebhookEvent.__table__
    for first in range(start, start + count, BATCH):
        rows = [{
            "connection_id": connection_ids[i % len(connection_ids)], "source": "webhook",
            "dedupe_key": f"evt_{i}", "event_type": ("charge.succeeded", "invoice.paid", "lead.created")[i % 3],
            "status": STATUSES[i % len(STATUSES)], "attempts": 1, "payload_summary": {"event_type": "x"},
            "body_sha256": "", "duplicate_count": 0,
            "received_at": now - timedelta(seconds=(start + count - i) * 7),
        } for i in range(first, min(first + BATCH, start + count))]
        db.session.execute(table.insert(), rows)
        db.session.commit()


def timed(client, url, count):
    for _ in range(10):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv or sys.argv[1:])
    backend = harness.open_backend("mariadb", args.mysql_url, args.redis_url)
    os.environ.update({k: v for k, v in backend.env.items() if k in (
        "DATABASE_URL", "SECRET_KEY", "ZARTS_SECRETS_KEY", "ZARTS_QUEUE_PREFIX")})
    os.environ.pop("REDIS_URL", None)
    try:
        return run(args, backend)
    finally:
        harness.close_backend(backend)


def run(args, backend):
    from zarts import create_app
    from zarts.extensions import db
    from zarts.models import Connection, utcnow
    from zarts.services.setup import accounts, connections

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        first = db.session.get(Connection, backend.connection["id"])
        ids = [first.id]
        for key in ("stripe", "github", "shopify"):
            made, _ = connections.create_connection(key, first.client.slug, first.owner.email, "bench")
            ids.append(made.id)
        accounts.create_user("bench-admin2@example.com", "bench-admin-pass", "admin")
        db.session.commit()
        pages = {
            "first page": "/admin/events",
            "filtered (connection + status)": f"/admin/events?connection={ids[1]}&status=dead_lettered",
            "search by dedupe key": "/admin/events?q=evt_5",
        }
        now, stored, results = utcnow(), 0, {}
        for size in (args.small, args.large):
            fill(db, ids, stored, size - stored, now)
            stored = size
            client = app.test_client()
            client.post("/login", data={"email": "bench-admin2@example.com", "password": "bench-admin-pass"})
            for label, url in pages.items():
                results[(label, size)] = timed(client, url, args.requests)
                print(f"{size:>9,} events  {label:<32} p50 {results[(label, size)]:.1f} ms", flush=True)
        for label in pages:
            ratio = results[(label, args.large)] / results[(label, args.small)]
            print(f"ratio {args.large:,}/{args.small:,}  {label:<32} {ratio:.2f}x (goal: within 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
