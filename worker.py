"""Start an RQ worker for the zarts queues: `python worker.py [--burst] [--no-sweeper]`.

Run any number of these, on any host that reaches the same REDIS_URL and DATABASE_URL. Each
worker beats a heartbeat (zarts.workers) and runs the periodic sweeper; a short Redis lock lets
only one of them sweep at a time. When Redis goes away the worker waits for it and carries on.
"""
import argparse
import logging
import signal
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


def main(argv=None):
    """Work the zarts queues; each job gets its own app context (and database session)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-sweeper", action="store_true", help="do not run the periodic sweeper")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    bind_app(app)
    if not app.config.get("REDIS_URL"):
        print("worker: REDIS_URL is not set; without it jobs run inside the web process.", file=sys.stderr)
        return 2
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


if __name__ == "__main__":
    sys.exit(main())
