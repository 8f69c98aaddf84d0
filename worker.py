"""Start RQ workers for the zarts queues: `python worker.py [--processes N] [--burst] [--no-sweeper]`.

Run any number of these, on any host that reaches the same REDIS_URL and DATABASE_URL. Each
worker beats a heartbeat (zarts.workers) and runs the periodic sweeper; a short Redis lock lets
only one of them sweep at a time. When Redis goes away the worker waits for it and carries on.
With --processes N (what `make worker` runs) this process starts N workers, starts a new one
whenever one dies, and passes SIGTERM/Ctrl-C on to them once (RQ's warm shutdown).
"""
import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker

from zarts import create_app, workers
from zarts.jobs import periodic
from zarts.jobs.context import bind_app
from zarts.queues import QUEUE_NAMES, queue_name

log = logging.getLogger("zarts.worker")
RECONNECT_MAX_SECONDS = 30
RESTART_MAX_SECONDS = 30  # a worker that keeps dying at start-up is restarted at most this often


def main(argv=None):
    """Work the zarts queues; each job gets its own app context (and database session)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, metavar="N",
                        help="run N worker processes and restart any that die (default: work in this process)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-sweeper", action="store_true", help="do not run the periodic sweeper")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.processes is not None and args.processes < 1:
        parser.error("--processes must be 1 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    bind_app(app)
    if not app.config.get("REDIS_URL"):
        print("worker: REDIS_URL is not set; without it jobs run inside the web process.", file=sys.stderr)
        return 2
    if args.processes is not None:
        return supervise(args.processes, ["--burst"] * args.burst + ["--no-sweeper"] * args.no_sweeper)
    with app.app_context():
        names = [queue_name(name) for name in QUEUE_NAMES]
    workers.start(app)
    if not (args.burst or args.no_sweeper):
        periodic.start(app)
    return work(app.config["REDIS_URL"], names, burst=args.burst)


def work(redis_url, names, burst=False, sleep=time.sleep):
    """Work the queues until stopped (or, with burst, until they are empty), riding out Redis outages."""
    wait = 1
    while True:
        started = time.monotonic()
        # The worker's own client: RQ sets its socket timeout above the blocking dequeue's wait. The
        # app's shared client (2 s timeout, also used by the sweeper thread) would cut each idle wait short.
        connection = Redis.from_url(redis_url)
        try:
            # SimpleWorker runs jobs in this process: no fork per job (a fork costs more than a batch).
            worker = SimpleWorker([Queue(name, connection=connection) for name in names], connection=connection)
            worker.work(burst=burst)
            return 0
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The database keeps every event's state; whatever this worker held is found again.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # RQ's handlers belong to the worker that died
            signal.signal(signal.SIGINT, signal.default_int_handler)
            wait = 1 if time.monotonic() - started > RECONNECT_MAX_SECONDS else wait
            log.warning("Redis unreachable (%s); reconnecting in %d s", type(exc).__name__, wait)
            sleep(wait)
            wait = min(wait * 2, RECONNECT_MAX_SECONDS)
        finally:
            connection.close()


def supervise(count, child_args):
    """Keep `count` worker processes running until told to stop; each a `worker.py child_args`.

    Children run in their own sessions, so a Ctrl-C reaches only this process, which passes one
    SIGTERM on: a second signal would turn RQ's warm shutdown into a cold one.
    """
    command = [sys.executable, os.path.abspath(__file__), *child_args]
    stopping = []
    children = {}  # slot -> (process, started at, wait before the next restart)

    def start(slot, wait=1):
        children[slot] = (subprocess.Popen(command, start_new_session=True), time.monotonic(), wait)

    def stop(signum, frame):
        if not stopping:
            stopping.append(signum)
            for proc, _, _ in children.values():
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(count):
        start(slot)
    log.info("started %d worker processes", count)
    restarts = {}  # slot -> (when to start it again, the wait that led there)
    while children or (restarts and not stopping):
        time.sleep(0.2)
        now = time.monotonic()
        for slot, (proc, started, wait) in list(children.items()):
            code = proc.poll()
            if code is None:
                continue
            del children[slot]
            if stopping or "--burst" in child_args:
                continue
            # A worker that ran a while is replaced at once; one dying at start-up waits longer each time.
            wait = 1 if now - started > RESTART_MAX_SECONDS else min(wait * 2, RESTART_MAX_SECONDS)
            log.warning("worker process %d exited with %s; starting another in %d s", proc.pid, code, wait)
            restarts[slot] = (now + wait, wait)
        for slot, (due, wait) in list(restarts.items()):
            if not stopping and now >= due:
                del restarts[slot]
                start(slot, wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
