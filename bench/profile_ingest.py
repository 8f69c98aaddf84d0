"""Profile the zarts webhook endpoint (c) with pyinstrument, and count its round trips per request.

Run by hand from the repository root:

    .venv/bin/python bench/profile_ingest.py --backend mariadb            # in-process, one thread
    .venv/bin/python bench/profile_ingest.py --backend mariadb --mode gunicorn

in-process: the real app in this process on a throwaway database (as bench/ingest.py sets it up),
requests sent one after another through the full WSGI stack (Flask's test client); pyinstrument
samples the request thread, and every command sent to MariaDB/Redis is counted per request.
This shows what one request costs without contention.

gunicorn: the same gunicorn settings and wrk load as bench/ingest.py, with bench/profiled_wsgi.py
profiling every request in its own thread; each worker prints its aggregate when it exits. This
shows where wall-clock time goes under load (waiting for the CPU or GIL included).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness, roundtrips  # noqa: E402


def in_process(backend, args):
    """Sequential requests through the WSGI app; prints timing, round trips and the profile."""
    from pyinstrument import Profiler

    from zarts import create_app
    from zarts.services.ingest import signatures

    os.environ.update({k: v for k, v in backend.env.items() if k in (
        "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ZARTS_SECRETS_KEY", "ZARTS_QUEUE_PREFIX", "ZARTS_ENV")})
    app = create_app()
    client = app.test_client()
    body, secret = harness.sample_body(), backend.connection["secret"]
    path = backend.connection["ingest_path"]

    def deliveries(tag, n):
        ts = int(time.time())
        for i in range(n):
            headers = signatures.sign("standard", body, secret, msg_id=f"msg_{tag}_{i}", timestamp=ts)
            headers["Content-Type"] = "application/json"
            yield headers

    counter = roundtrips.install()
    for headers in deliveries("warm", args.warmup_requests):
        assert client.post(path, data=body, headers=headers).status_code == 202
    batch = list(deliveries("prof", args.requests))
    time.sleep(0.5)
    counter.reset()
    profiler = Profiler(interval=args.interval, async_mode="disabled")
    started = time.perf_counter()
    profiler.start()
    for headers in batch:
        response = client.post(path, data=body, headers=headers)
        assert response.status_code == 202, response.get_data(as_text=True)
    profiler.stop()
    elapsed = time.perf_counter() - started
    time.sleep(0.5)  # the relay's last batch
    print(f"\n{args.requests} sequential requests on {backend.kind}: {elapsed * 1000 / args.requests:.2f} ms "
          f"per request ({args.requests / elapsed:.0f}/s on one thread)")
    print(counter.report(args.requests))
    print(profiler.output_text(show_all=False, short_mode=False))
    print(profiler.output_text(flat=True, flat_time="self")[:6000])


def under_gunicorn(backend, args):
    """Profile every request of the gunicorn workers under the bench's wrk load."""
    body = harness.sample_body()
    body_file = os.path.join(backend.tmp, "body.json")
    with open(body_file, "wb") as f:
        f.write(body)
    req_file = os.path.join(backend.tmp, "prof.tsv")
    harness.write_requests(req_file, body, backend.connection["secret"], args.duration * 5000, "prof")
    env = dict(backend.env, BENCH_PROFILE_INTERVAL=str(args.interval))
    server = harness.Server("bench.profiled_wsgi:app", env, backend.tmp)
    url = f"http://127.0.0.1:{server.port}{backend.connection['ingest_path']}"
    try:
        result = harness.wrk(url, req_file, body_file, args.duration, 2, 16)
        print(f"under load: {result['s202'] / result['window_s']:.0f} events/s (profiled, so slower)")
    finally:
        server.stop()
    with open(server.log.name) as log:
        print(log.read())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="mariadb", choices=["sqlite", "mariadb"])
    p.add_argument("--mode", default="inprocess", choices=["inprocess", "gunicorn"])
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--warmup-requests", type=int, default=300)
    p.add_argument("--duration", type=int, default=10, help="gunicorn mode: seconds of load")
    p.add_argument("--interval", type=float, default=0.0002,
                   help="pyinstrument sampling interval (s); 0 in gunicorn mode: only count round trips")
    p.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = p.parse_args(argv)
    backend = harness.open_backend(args.backend, args.mysql_url, args.redis_url)
    try:
        (in_process if args.mode == "inprocess" else under_gunicorn)(backend, args)
    finally:
        harness.close_backend(backend)


if __name__ == "__main__":
    main()
