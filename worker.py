"""Start an RQ worker (with its scheduler) for the zarts queues: `python worker.py [--burst]`.

Run any number of these, on any host that reaches the same REDIS_URL and DATABASE_URL. Each
worker also runs the periodic sweeper; a short Redis lock lets only one of them sweep at a time.
"""
import argparse
import sys

from redis import Redis
from rq import Queue, SimpleWorker

from zarts import create_app
from zarts.jobs import periodic
from zarts.jobs.context import bind_app
from zarts.queues import QUEUE_NAMES, queue_name


def main(argv=None):
    """Work the zarts queues; each job gets its own app context (and database session)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-sweeper", action="store_true", help="do not run the periodic sweeper")
    args = parser.parse_args(argv)
    app = create_app()
    bind_app(app)
    with app.app_context():
        names = [queue_name(name) for name in QUEUE_NAMES]
    if not app.config.get("REDIS_URL"):
        print("worker: REDIS_URL is not set; without it jobs run inside the web process.", file=sys.stderr)
        return 2
    # The worker's own client: RQ sets its socket timeout above the blocking dequeue's wait. The
    # app's shared client (2 s timeout, also used by the sweeper thread) would cut each idle wait short.
    connection = Redis.from_url(app.config["REDIS_URL"])
    queues = [Queue(name, connection=connection) for name in names]
    if not (args.burst or args.no_sweeper):
        periodic.start(app)
    # SimpleWorker runs jobs in this process: no fork per job (a fork costs more than a batch).
    worker = SimpleWorker(queues, connection=connection)
    worker.work(burst=args.burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
