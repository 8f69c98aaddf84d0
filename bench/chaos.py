"""Faults, measured: a worker killed, Redis flushed, Redis down, MariaDB down, in the middle of real traffic.

Run by hand from the repository root (never by the test suite); needs MariaDB on 127.0.0.1:3306
(root, no password) and `redis-server` on the PATH:

    .venv/bin/python bench/chaos.py                                  # every scenario, 2000 deliveries each
    .venv/bin/python bench/chaos.py --scenarios kill,flush --deliveries 500 --json-out /tmp/chaos.json

Each scenario gets a portal of its own (bench/chaos_setup.py): the throwaway database
zarts_chaos_<pid> (migrated, one live Stripe and one Standard Webhooks connection), a private
redis-server on a free port, the web app under serve.py (gunicorn + gevent, `wsgi:app`) and two `worker.py`
processes, each in its own process group and each running the periodic sweeper, as production
does. A provider sends --deliveries signed deliveries (test_reliability's provider objects, 1-3
events each in shuffled order, 6% unmapped event types, 3% sent twice) from --clients threads at
--rate a second, and sends again later what is answered 503 or not at all. Once half of them have
been answered (--fault-at), the fault:

  baseline      none (what the others are read against)
  kill          SIGKILL a worker's process group while it holds claimed events; a new worker
                starts --replace-after seconds later
  flush         FLUSHALL on Redis while it holds queued jobs (those jobs are lost)
  redis-outage  redis-server killed for --redis-outage seconds, then started again, empty, on its port
  db-outage     the web app and workers reach MariaDB through a TCP proxy, stopped for --db-outage seconds
                while a worker holds claimed events

Then it waits (at most --drain-timeout seconds after the last answer) until every stored event is
final, and checks the database: rows stored, answers of 202/200 whose row is missing, final
states, doubles (an object's record or metric value written twice, or a metric summed twice),
records not at their newest state, and events not final (lost). Time to drain runs from the
fault's end to the last event's processed_at. It prints a Markdown table, writes --json-out, and
exits 1 when an invariant fails: no 2xx without its row, no doubles, no wrong states, nothing lost,
no delivery given up, every worker beating at the end. The database, Redis and temp files are
removed afterwards (logs are kept when a scenario fails, or with --keep-logs). It waits while
bench/ingest.py runs, and says so when that starts during a scenario.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402
from bench.chaos_setup import FINAL, WORKERS, Provider, check, close_portal, open_portal, workload  # noqa: E402
from tests.jobs.processes import kill  # noqa: E402

SCENARIOS = ("baseline", "kill", "flush", "redis-outage", "db-outage")
HUNT_SECONDS = 5  # how long a fault waits for its moment (a claim held, a job queued) before striking anyway
FLUSH_IF_QUEUED = """
local jobs = redis.call('LLEN', KEYS[1])
if jobs > 0 then redis.call('FLUSHALL') end
return jobs
"""


def no_fault(portal, args):
    """Nothing happens: the run every other is read against."""
    at = time.time()
    return at, at, {}


def kill_worker(portal, args):
    """SIGKILL the first worker's process group while it holds claims; start a replacement a bit later."""
    victim = portal.workers[0]
    _wait_until(lambda: _claims_of(portal, victim.pid) > 0)
    at = time.time()
    kill(victim)
    held = _claims_of(portal, victim.pid)
    time.sleep(args.replace_after)
    portal.start_worker()
    return at, at, {"claims held by the killed worker": held, "replacement started after (s)": args.replace_after}


def flush_redis(portal, args):
    """FLUSHALL while the queue holds jobs: they, the workers' heartbeats and RQ's registries are gone."""
    from redis import Redis

    conn = Redis.from_url(portal.redis.url)
    flush_if_queued = conn.register_script(FLUSH_IF_QUEUED)
    queue_key = f"rq:queue:{portal.env['ZARTS_QUEUE_PREFIX']}:default"
    # Workers keep up with this load, so a job waits in the queue for a moment only: look for one
    # without pausing, and flush in the same step (a script runs atomically).
    lost = []
    _wait_until(lambda: lost.append(flush_if_queued(keys=[queue_key])) or lost[-1] > 0, every=0)
    if not lost[-1]:
        conn.flushall()  # none was caught: flush anyway
    jobs, at = lost[-1], time.time()
    waiting = portal.query("SELECT COUNT(*) FROM event_webhook_events WHERE status IN ('received', 'queued')")[0][0]
    conn.close()
    return at, at, {"jobs lost from the queue": jobs, "events received or queued just after": waiting}


def stop_redis(portal, args):
    """Kill redis-server; start it again on the same port (empty: it keeps nothing on disk)."""
    start = time.time()
    portal.redis.stop()
    time.sleep(args.redis_outage)
    portal.redis.start()
    return start, time.time(), {"outage (s)": args.redis_outage}


def stop_database(portal, args):
    """Stop the proxy in front of MariaDB (connections refused, open ones cut) while a worker holds claims;
    start it again on the same port."""
    _wait_until(lambda: _claims_of(portal) > 0)
    start = time.time()
    portal.proxy.stop()
    held = _claims_of(portal)
    time.sleep(args.db_outage)
    portal.proxy.start()
    return start, time.time(), {"outage (s)": args.db_outage, "events claimed at the cut": held}


FAULTS = {"baseline": no_fault, "kill": kill_worker, "flush": flush_redis, "redis-outage": stop_redis,
          "db-outage": stop_database}


def _wait_until(ready, every=0.005, seconds=HUNT_SECONDS):
    deadline = time.monotonic() + seconds
    while not ready() and time.monotonic() < deadline:
        time.sleep(every)


def _claims_of(portal, pid=None):
    """Events a worker process (any, without pid) holds claimed; a worker's name is host:pid:random."""
    return portal.query("SELECT COUNT(*) FROM event_webhook_events WHERE status = 'processing' "
                        "AND claimed_by LIKE :name", name=f"%:{pid}:%" if pid else "%")[0][0]


def run_scenario(name, args):
    """One scenario on a portal of its own; its figures, with the invariants checked."""
    wait_for_quiet_machine()
    portal = open_portal(args.mysql_url, proxied=name == "db-outage")
    failed = True
    try:
        provider = Provider(portal.server.port, portal, workload(args.deliveries, args.seed), args.clients,
                            args.rate, args.attempts, args.fault_at)
        fault = {}
        striker = threading.Thread(target=_strike, args=(FAULTS[name], portal, args, provider, fault), daemon=True)
        striker.start()
        provider.run()
        striker.join()
        disturbed = ingest_running()
        if "error" in fault:
            raise RuntimeError(f"the {name} fault failed: {fault['error']}")
        drained_at = drain(portal, max(provider.last_answer or 0, fault["end"]) + args.drain_timeout)
        result = check(portal, provider)
        result.update(scenario=name, fault=fault["details"], deliveries=len(provider.deliveries),
                      requests=sum(provider.answers.values()), answers=_answers(provider),
                      gave_up=sum(1 for status, _ in provider.outcome.values() if status == "gave up"),
                      fault_window=[round(fault[edge] - provider.started, 1) for edge in ("start", "end")],
                      workers_beating=_beating(portal), drained=drained_at is not None,
                      disturbed=disturbed or ingest_running())
        last = result.pop("last_final_at")
        result["drain_s"] = round(max(0, last - fault["end"]), 1) if drained_at and last else None
        result["after_last_answer_s"] = round(last - provider.last_answer, 1) if drained_at and last else None
        result["run_s"] = round((drained_at or time.time()) - provider.started, 1)
        result["failures"] = invariants(result)
        failed = bool(result["failures"])
        print(f"{name}: {json.dumps(result, default=str)}", flush=True)
        if result["disturbed"]:
            print(f"{name}: bench/ingest.py started during the run: its timings are disturbed", file=sys.stderr)
        return result
    finally:
        if failed or args.keep_logs:
            print(f"{name}: logs kept in {portal.tmp}", file=sys.stderr)
        close_portal(portal, keep_logs=failed or args.keep_logs)


def _strike(fault, portal, args, provider, out):
    provider.midway.wait()
    try:
        out["start"], out["end"], out["details"] = fault(portal, args)
    except Exception as exc:  # reported by the main thread, which then stops the scenario
        out["error"] = repr(exc)
        out["start"] = out["end"] = time.time()


def drain(portal, deadline):
    """Wait until every stored event is final; when that was seen (time.time()), or None at the deadline."""
    finals = ", ".join(f"'{status}'" for status in FINAL)
    while time.time() < deadline:
        if portal.query(f"SELECT COUNT(*) FROM event_webhook_events WHERE status NOT IN ({finals})")[0][0] == 0:
            return time.time()
        time.sleep(0.25)
    return None


def _answers(provider):
    counts = provider.answers
    return {"202": counts[202], "200 duplicate": counts[200], "503": counts[503], "other": counts["other"],
            "no answer": counts["no answer"]}


def _beating(portal, seconds=15):
    """Workers whose heartbeat is current in Redis (zarts.workers), waiting a few beats for all of them:
    after a flush or a Redis restart each comes back with its next beat."""
    from redis import Redis

    conn = Redis.from_url(portal.redis.url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            beating = sum(1 for _ in conn.scan_iter(match=f"{portal.env['ZARTS_QUEUE_PREFIX']}:worker:*"))
            if beating >= WORKERS or time.monotonic() > deadline:
                return beating
            time.sleep(0.5)
    finally:
        conn.close()


def invariants(result):
    """The invariants a run broke, in words (empty when it kept them all)."""
    broken = {"no_row_2xx": "answered 202/200 without a row", "doubles": "doubles", "wrong": "wrong final states",
              "lost": "events not final after the drain deadline", "gave_up": "deliveries given up"}
    failures = [f"{result[key]} {words}" for key, words in broken.items() if result[key]]
    if result["workers_beating"] < WORKERS:
        failures.append(f"only {result['workers_beating']} of {WORKERS} workers beating at the end")
    return failures


def ingest_running():
    """True while bench/ingest.py runs: it shares the two cores and would disturb the timings."""
    return subprocess.run(["pgrep", "-f", "bench/ingest.py"], capture_output=True).returncode == 0


def wait_for_quiet_machine():
    """Wait while bench/ingest.py runs."""
    told = False
    while ingest_running():
        if not told:
            print("waiting for bench/ingest.py to finish ...", flush=True)
            told = True
        time.sleep(5)


ROWS = (
    ("deliveries (requests, with retries)", lambda r: f"{r['deliveries']} ({r['requests']})"),
    ("answers 202 / 200 duplicate / 503 / other / no answer", lambda r: " / ".join(map(str, r["answers"].values()))),
    ("deliveries given up", lambda r: r["gave_up"]),
    ("rows stored (raw rows)", lambda r: f"{r['rows']} ({r['raw_rows']})"),
    ("**202/200 without a row**", lambda r: f"**{r['no_row_2xx']}**"),
    ("final states", lambda r: ", ".join(f"{k} {v}" for k, v in sorted(r["final_states"].items()))),
    ("**doubles**", lambda r: f"**{r['doubles']}**"),
    ("wrong final states", lambda r: r["wrong"]),
    ("**lost** (not final after the deadline)", lambda r: f"**{r['lost']}**"),
    ("events worked more than once", lambda r: r["worked_again"]),
    ("the fault", lambda r: "; ".join(f"{k}: {v}" for k, v in r["fault"].items()) or "-"),
    ("fault window (s into the run)", lambda r: "-" if r["scenario"] == "baseline"
     else "{} - {}".format(*r["fault_window"])),
    ("**time to drain** (s from the fault's end)", lambda r: f"**{r['drain_s']}**"),
    ("every event final, s after the last answer", lambda r: r["after_last_answer_s"]),
    ("total run time (s)", lambda r: r["run_s"]),
    ("workers beating at the end", lambda r: r["workers_beating"]),
)


def report(results):
    """A Markdown table: one column per scenario, one row per measure."""
    lines = ["| | " + " | ".join(r["scenario"] for r in results) + " |", "|---" + "|---:" * len(results) + "|"]
    lines += [f"| {label} | " + " | ".join(str(value(r)) for r in results) + " |" for label, value in ROWS]
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    p.add_argument("--deliveries", type=int, default=2000, help="deliveries per scenario (3%% of them duplicates)")
    p.add_argument("--rate", type=float, default=100, help="new deliveries a second")
    p.add_argument("--clients", type=int, default=8, help="provider threads sending at once")
    p.add_argument("--attempts", type=int, default=8, help="times a delivery is sent before the provider gives up")
    p.add_argument("--fault-at", type=float, default=0.5, help="fraction of deliveries answered before the fault")
    p.add_argument("--replace-after", type=float, default=3, help="kill: seconds until a new worker starts")
    p.add_argument("--redis-outage", type=float, default=10, help="redis-outage: seconds Redis is down")
    p.add_argument("--db-outage", type=float, default=5, help="db-outage: seconds MariaDB is unreachable")
    p.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for every event to be final")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    p.add_argument("--json-out", help="also write every figure to this JSON file")
    p.add_argument("--keep-logs", action="store_true", help="keep the web app's, workers' logs (kept on failure)")
    args = p.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # clean up as on Ctrl-C
    info = harness.machine(commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                                 text=True).stdout.strip())
    print(f"machine: {info}", flush=True)
    results = [run_scenario(name, args) for name in args.scenarios.split(",")]
    text = report(results)
    print("\n" + text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": info, "args": vars(args), "results": results, "table": text}, f, indent=2,
                      default=str)
    failed = {r["scenario"]: r["failures"] for r in results if r["failures"]}
    if failed:
        print(f"INVARIANTS BROKEN: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
