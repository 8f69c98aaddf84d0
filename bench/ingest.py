"""Webhook ingest benchmark: (a) bare Flask ceiling, (b) naive reference, (c) the zarts endpoint.

Run by hand from the repository root (never by the test suite); needs `wrk` (apt-get install wrk),
and for the MariaDB backend a local MariaDB and Redis:

    .venv/bin/python bench/ingest.py                          # SQLite and MariaDB + Redis
    .venv/bin/python bench/ingest.py --backends mariadb --duration 10

For each backend it creates a throwaway database (SQLite file in a temp dir, or the MariaDB
schema zarts_bench_<run>), migrates it and sets up one Standard Webhooks connection through the
`flask zarts` CLI, then serves each target with the same gunicorn settings (harness.GUNICORN_SETTINGS)
on a free loopback port and drives it with wrk (bench/loadgen.lua): fixed concurrency, keep-alive
connections, pre-generated requests each with its own webhook-id and a real signature for the
connection's secret, the same body for every target. After a warm-up it measures for --duration
seconds, then checks that every 202 is a stored row. The schema, queues and temp files are removed
afterwards. Both (b) and (c) use Redis for the queue on both backends.
"""
import argparse
import json
import math
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402

TARGETS = {
    "a": ("bare Flask (parse JSON, 202)", "bench.bare_app:app"),
    "b": ("naive: HMAC + INSERT + enqueue", "bench.naive_app:app"),
    "c": ("zarts endpoint", "wsgi:app"),
}
BACKEND_NAMES = {"sqlite": "SQLite (+ Redis queue)", "mariadb": "MariaDB + Redis"}


def parse_key(key):
    """'c@serve+stall' -> ('c', 'serve', True): the app, the server (gthread unless named), and
    whether slow and idle clients hold connections open while it is measured."""
    head, _, extra = key.partition("+")
    app, _, server = head.partition("@")
    if app not in TARGETS or (server or "gthread") not in harness.SERVERS or extra not in ("", "stall"):
        raise SystemExit(f"unknown target {key!r}: a, b or c, then optionally @{'/@'.join(harness.SERVERS)} "
                         "and +stall")
    return app, server or "gthread", extra == "stall"


def label(key):
    app, server, stall = parse_key(key)
    return f"{TARGETS[app][0]} [{server}{', slow + idle clients' if stall else ''}]"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="sqlite,mariadb", help="comma-separated: sqlite, mariadb")
    p.add_argument("--targets", default="a,b,c",
                   help="comma-separated: a, b, c, each optionally @server (gthread, sync, granian, serve) and +stall")
    p.add_argument("--slow-clients", type=int, default=2, help="with +stall: clients that never finish their headers")
    p.add_argument("--slow-bodies", type=int, default=2,
                   help="with +stall: clients that send whole headers, then trickle their body a byte a second")
    p.add_argument("--idle-connections", type=int, default=200, help="with +stall: idle keep-alive connections")
    p.add_argument("--duration", type=int, default=15, help="measured seconds per target")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds per target (not measured)")
    p.add_argument("--rounds", type=int, default=1,
                   help="interleaved rounds (a, b, c, a, b, c, ...); the table shows each figure's median")
    p.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    p.add_argument("--gunicorn-threads", type=int, default=4,
                   help="threads per process under gthread and granian (serve has none: one greenlet per connection)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--max-rate", type=int, default=10000, help="sizes the request pool (requests/s)")
    p.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--json-out", help="also write all results to this JSON file")
    return p.parse_args(argv)


def start_servers(backend, keys, args):
    """One server per (target, server) pair, for the whole backend run; {key: Server}."""
    servers, by_pair = {}, {}
    try:
        for key in keys:
            app, server, _ = parse_key(key)
            if (app, server) not in by_pair:
                env = dict(backend.env)
                if app == "b":
                    env.update(BENCH_DATABASE_URL=backend.database_url, BENCH_REDIS_URL=backend.redis_url,
                               BENCH_QUEUE=f"{backend.queue_prefix}:naive", BENCH_SECRET=backend.connection["secret"])
                by_pair[(app, server)] = harness.Server(TARGETS[app][1], env, backend.tmp,
                                                        harness.gunicorn_settings(args.gunicorn_threads), server)
            servers[key] = by_pair[(app, server)]
    except BaseException:
        for server in by_pair.values():
            server.stop()
        raise
    return servers


def measure(backend, server, key, args, body_file, body, tag):
    """Warm up, then measure one target once; the round's figures."""
    secret = backend.connection["secret"]
    warm_file, main_file = (os.path.join(backend.tmp, f"{tag}-{n}.tsv") for n in ("warm", "main"))
    harness.write_requests(warm_file, body, secret, args.warmup * args.max_rate, tag + "w")
    harness.write_requests(main_file, body, secret, args.duration * args.max_rate, tag + "m")
    url = f"http://127.0.0.1:{server.port}{backend.connection['ingest_path']}"
    warm = harness.wrk(url, warm_file, body_file, args.warmup, args.threads, args.connections)
    services = {"db": harness.pids_named("mariadbd", "mysqld") if backend.kind == "mariadb" else [],
                "redis": harness.pids_named("redis-server")}
    app_pids = server.pids()
    cpu0 = {"app": harness.cpu_seconds(app_pids), **{k: harness.cpu_seconds(v) for k, v in services.items()}}
    procs0 = harness.all_cpu()
    queries0 = backend.server_queries()
    sampler = harness.BusySampler()
    started = time.monotonic()
    spread = {}
    threading.Timer(1.0, lambda: spread.update(harness.connections_per_worker(server))).start()
    if parse_key(key)[2]:
        with harness.Stallers(server.port, args.slow_clients, args.idle_connections,
                              backend.connection["ingest_path"], args.slow_bodies):
            main = harness.wrk(url, main_file, body_file, args.duration, args.threads, args.connections)
    else:
        main = harness.wrk(url, main_file, body_file, args.duration, args.threads, args.connections)
    sampler.stop()
    procs1 = harness.all_cpu()
    queries1 = backend.server_queries()
    cpu1 = {"app": harness.cpu_seconds(app_pids), **{k: harness.cpu_seconds(v) for k, v in services.items()}}
    for path in (warm_file, main_file):
        os.remove(path)
    result = summarize(key, warm, main, cpu0, cpu1)
    # machine CPU use in the steady middle of the measured window (wrk's start-up left out)
    result["machine_busy_pct"] = sampler.busy_pct(started + 1.0, started + args.duration)
    # CPU that processes other than the target, MariaDB, Redis and wrk used meanwhile, in cores
    _, wall_s = sampler.busy_cores()
    ours = set(app_pids) | {pid for pids in services.values() for pid in pids} | {os.getpid()}
    other_s, top = harness.others_cpu(procs0, procs1, ours)
    result["other_cores"] = other_s / wall_s
    result["other_top"] = [(name, round(cpu / wall_s, 2)) for name, cpu in top]
    result["connections_per_worker"] = sorted(spread.values(), reverse=True)
    # statements the whole MariaDB server ran per accepted event (other sessions' work shows here)
    result["server_queries_per_event"] = (
        (queries1 - queries0) / result["accepted"] if queries0 is not None and result["accepted"] else None)
    return result


def run_backend(kind, args):
    """Every round of every target on one backend; {target: {"rounds": [...], "check": {...}}}."""
    backend = harness.open_backend(kind, args.mysql_url, args.redis_url)
    try:
        body = harness.sample_body()
        body_file = os.path.join(backend.tmp, "body.json")
        with open(body_file, "wb") as f:
            f.write(body)
        keys = args.targets.split(",")
        servers = start_servers(backend, keys, args)
        try:
            out = {key: {"rounds": []} for key in keys}
            for n in range(args.rounds):
                for key in keys:
                    r = measure(backend, servers[key], key, args, body_file, body, f"{backend.queue_prefix}_{key}{n}")
                    out[key]["rounds"].append(r)
                    print(f"{kind} ({key}) round {n + 1}: {r['events_per_s']:.0f} events/s, p50 {r['p50_ms']:.1f} ms, "
                          f"p99 {r['p99_ms']:.1f} ms, non-202 {r['non_202']}, connections per worker "
                          f"{r['connections_per_worker']}, other processes {r['other_top']}, MariaDB statements per event "
                          f"{r['server_queries_per_event'] and round(r['server_queries_per_event'], 2)}", flush=True)
            time.sleep(1.0)  # let the outbox relay hand the last batch over before counting
            for app in sorted({parse_key(key)[0] for key in keys}):
                mine = [key for key in keys if parse_key(key)[0] == app]  # they share one table
                accepted = sum(r["accepted"] + r["warmup_accepted"] for key in mine for r in out[key]["rounds"])
                unanswered = sum(r["unanswered"] for key in mine for r in out[key]["rounds"])
                check = verify(backend, app, accepted, unanswered)
                for key in mine:
                    out[key]["check"] = check
                print(f"{kind} ({app}) check: {check}", flush=True)
        finally:
            for server in set(servers.values()):
                server.stop()
    finally:
        harness.close_backend(backend)
    return {key: {**median_round(v["rounds"]), "check": v["check"], "rounds": v["rounds"]} for key, v in out.items()}


def median_round(rounds):
    """Each figure's median over the rounds (the figures themselves with one round)."""
    def med(values):
        return statistics.median(values)

    first = rounds[0]
    return {
        "target": first["target"], "events_per_s": med([r["events_per_s"] for r in rounds]),
        "p50_ms": med([r["p50_ms"] for r in rounds]), "p99_ms": med([r["p99_ms"] for r in rounds]),
        "non_202": sum(r["non_202"] for r in rounds),
        "cpu_ms_per_event": {k: med([r["cpu_ms_per_event"][k] for r in rounds]) for k in first["cpu_ms_per_event"]},
        "machine_busy_pct": med([r["machine_busy_pct"] for r in rounds]),
        "other_cores": med([r["other_cores"] for r in rounds]),
    }


def summarize(key, warm, main, cpu0, cpu1):
    """events/s, p50, p99 and CPU use of one measured window."""
    seconds = main["window_s"]  # first request sent .. last answer received
    events = main["s202"]
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    cpu["loadgen"] = main["loadgen_cpu_s"]
    return {
        "target": key, "events_per_s": events / seconds, "p50_ms": main["p50_us"] / 1000,
        "p99_ms": main["p99_us"] / 1000, "max_ms": main["max_us"] / 1000, "accepted": events,
        "responses": main["requests"], "non_202": main["requests"] - events,
        "unanswered": main["sent"] - main["requests"],
        "socket_errors": sum(main[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        "pool_wrapped": main["wrapped"] + warm["wrapped"],
        "cpu_ms_per_event": {k: (v * 1000 / events if events else math.nan) for k, v in cpu.items()},
        "warmup_accepted": warm["s202"], "seconds": seconds,
    }


def verify(backend, key, accepted, unanswered):
    """Every 202 must be a stored row (c: webhook events; b: the naive table).

    A request whose answer wrk never saw (stuck past the grace period) may still have been stored,
    as a provider's timed-out delivery is: up to `unanswered` rows more than 202s are fine.
    """
    if key == "a":
        return {"ok": True, "note": "nothing stored"}
    table = "event_webhook_events" if key == "c" else "bench_naive_events"
    stored = backend.count(f"SELECT COUNT(*) FROM {table}")
    check = {"ok": accepted <= stored <= accepted + unanswered, "accepted_202": accepted, "stored": stored,
             "unanswered": unanswered}
    if key == "c":
        check["raw_rows"] = backend.count("SELECT COUNT(*) FROM integration_raw_events")
        check["queued"] = backend.count("SELECT COUNT(*) FROM event_webhook_events WHERE status = 'queued'")
        check["ok"] = check["ok"] and check["raw_rows"] == stored
    return check


def report(results, args):
    """The table, in Markdown, and the ratios c/a and c/b per backend."""
    lines = [f"gthread: gunicorn {' '.join(harness.gunicorn_settings(args.gunicorn_threads))}; serve: "
             f"{' '.join(harness.server_command('serve', 'APP', 8000, args.gunicorn_threads)[0][1:])}; "
             f"wrk -t{args.threads} -c{args.connections}, "
             f"{args.warmup} s warm-up + {args.duration} s measured per target"
             + (f", {args.rounds} interleaved rounds, medians" if args.rounds > 1 else ""), "",
             "| backend | target | events/s | p50 ms | p99 ms | non-202 | app CPU ms/event | DB CPU ms/event "
             "| Redis CPU ms/event | machine busy | other processes | stored = 202s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for backend, rows in results.items():
        for key, r in rows.items():
            cpu = r["cpu_ms_per_event"]
            check = r["check"]
            ok = check.get("note") or (f"{'yes' if check['ok'] else 'NO'} ({check['stored']})")
            lines.append(f"| {BACKEND_NAMES[backend]} | ({key}) {label(key)} "
                         f"| {r['events_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_202']} "
                         f"| {cpu['app']:.2f} | {cpu.get('db', 0):.2f} | {cpu['redis']:.2f} "
                         f"| {r['machine_busy_pct']:.0f}% | {r['other_cores']:.2f} cores | {ok} |")
    lines += ["", "| backend | target | vs (b) naive under gthread: events/s | p99 | vs itself without stallers |",
              "|---|---|---:|---:|---:|"]
    for backend, rows in results.items():
        b = rows.get("b")
        for key, r in rows.items():
            if key == "b" or parse_key(key)[0] == "a" and not parse_key(key)[2]:
                continue
            base = rows.get(key.removesuffix("+stall")) if key.endswith("+stall") else None
            vs_b = f"{r['events_per_s'] / b['events_per_s']:.2f}x" if b else "-"
            p99 = f"{r['p99_ms'] / b['p99_ms']:.2f}x" if b else "-"
            stalled = f"{r['events_per_s'] / base['events_per_s']:.2f}x" if base else "-"
            lines.append(f"| {BACKEND_NAMES[backend]} | ({key}) | {vs_b} | {p99} | {stalled} |")
    if args.rounds > 1:
        lines += ["", "| backend | target | round | events/s | p50 ms | p99 ms | other processes |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for backend, rows in results.items():
            for key, row in rows.items():
                for n, r in enumerate(row["rounds"], 1):
                    lines.append(f"| {BACKEND_NAMES[backend]} | ({key}) | {n} | {r['events_per_s']:.0f} "
                                 f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['other_cores']:.2f} cores |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    info = harness.machine()
    print(f"machine: {info}", flush=True)
    results = {kind: run_backend(kind, args) for kind in args.backends.split(",")}
    text = report(results, args)
    print("\n" + text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": info, "args": vars(args), "results": results, "table": text}, f, indent=2)
    failed = [f"{k}/{t}" for k, rows in results.items() for t, r in rows.items() if not r["check"]["ok"]]
    if failed:
        print(f"VERIFICATION FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
