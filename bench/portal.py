"""Client portal benchmark: page time with 1k vs 1M normalized events behind the cards.

Run by hand from the repository root (MariaDB and Redis on 127.0.0.1):

    .venv/bin/python bench/portal.py                 # 1k, then 1M normalized events
    .venv/bin/python bench/portal.py --large 200000  # a quicker run

A throwaway schema (zarts_bench_<run>) is migrated and dropped afterwards. The portal reads
pre-aggregated cards, so its page time should not grow with the stored events; the card refresh
(done by the worker after each normalization batch) is timed too, as the cost that does grow.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402

BATCH = 5000


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=300, help="portal requests timed per size")
    p.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    return p.parse_args(argv)


def fill(db, connection, start, count, now):
    """Bulk-insert normalized leads and their metric values, spread over the last 12 months."""
    from zarts.models import MetricValue, NormalizedEvent

    normalized, values = NormalizedEvent.__table__, MetricValue.__table__
    for first in range(start, start + count, BATCH):
        ids = range(first, min(first + BATCH, start + count))
        rows = [{
            "id": i + 1, "connection_id": connection.id, "client_id": connection.client_id, "source": "webhook",
            "object_type": "lead", "external_id": f"lead-{i}", "action": "created", "status": "new",
            "provider_status": "new", "fields": {"stage": "new"}, "created_at": now, "updated_at": now,
            "occurred_at": now - timedelta(minutes=i % (365 * 24 * 60)),
        } for i in ids]
        db.session.execute(normalized.insert(), rows)
        db.session.execute(values.insert(), [{
            "normalized_event_id": r["id"], "connection_id": connection.id, "client_id": connection.client_id,
            "name": "leads", "value": Decimal(1), "unit": "leads", "occurred_at": r["occurred_at"],
        } for r in rows])
        db.session.commit()


def time_requests(client, url, count):
    """p50 and p95 in ms over count GETs (after 20 warm-up requests)."""
    for _ in range(20):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


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
    from zarts.models import Connection, MetricDefinition, PortalCard, utcnow
    from zarts.services.proof import metrics, outcomes
    from zarts.services.setup import accounts

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False})
    results = []
    with app.app_context():
        connection = db.session.get(Connection, backend.connection["id"])
        connection.lifecycle = "active"  # only a live source's cards reach the portal
        admin = connection.owner
        metric = metrics.save_metric(connection.client, {
            "name": "New leads", "metric_name": "leads", "connection_id": connection.id, "period": "month",
            "unit": "leads", "client_meaning": "People who asked for an appointment.", "aggregation": "sum",
            "baseline_mode": "previous_period"}, admin)
        metrics.publish(metric, admin)
        accounts.create_user("bench-client@example.com", "bench-client-pass", "client", connection.client.slug)
        accounts.create_user("bench-admin@example.com", "bench-admin-pass", "admin")
        db.session.commit()
        metric_id, card_id = metric.id, db.session.scalar(db.select(PortalCard.id).filter_by(metric_id=metric.id))
        now = utcnow()
    stored = 0
    for size in (args.small, args.large):
        with app.app_context():
            connection = db.session.get(Connection, backend.connection["id"])
            fill(db, connection, stored, size - stored, now)
            stored = size
            started = time.perf_counter()
            outcomes.refresh_card(db.session.get(MetricDefinition, metric_id))
            db.session.commit()
            refresh_ms = (time.perf_counter() - started) * 1000
        # Requests outside any app context: each gets its own, as under a server (a shared one
        # would keep the first signed-in user in `g` for every request).
        client = app.test_client()
        client.post("/login", data={"email": "bench-client@example.com", "password": "bench-client-pass"})
        assert "New leads" in client.get("/portal/").get_data(as_text=True), "the card must be on the page"
        page = time_requests(client, "/portal/", args.requests)
        cards = time_requests(client, "/portal/cards", args.requests)
        how = time_requests(client, f"/portal/cards/{card_id}/how", args.requests // 5)
        report = time_requests(client, "/portal/report", args.requests // 5)
        admin_client = app.test_client()
        admin_client.post("/login", data={"email": "bench-admin@example.com", "password": "bench-admin-pass"})
        drill = time_requests(admin_client, f"/admin/metrics/{metric_id}/explain", args.requests // 5)
        results.append((size, page, cards, refresh_ms, how, report, drill))
        print(f"{size:>9,} normalized events: /portal/ p50 {page[0]:.2f} ms p95 {page[1]:.2f} ms; "
              f"/portal/cards p50 {cards[0]:.2f} ms; card refresh {refresh_ms:.0f} ms; "
              f"how we measure p50 {how[0]:.2f} ms; report p50 {report[0]:.2f} ms; "
              f"drill-down p50 {drill[0]:.2f} ms p95 {drill[1]:.2f} ms", flush=True)
    small, large = results
    print(f"ratio {large[0]:,}/{small[0]:,}: /portal/ p50 {large[1][0] / small[1][0]:.2f}x, "
          f"/portal/cards p50 {large[2][0] / small[2][0]:.2f}x (goal: within 1.5x); "
          f"how we measure {large[4][0] / small[4][0]:.2f}x, report {large[5][0] / small[5][0]:.2f}x, "
          f"drill-down for one period {large[6][0] / small[6][0]:.2f}x (goal: under 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
