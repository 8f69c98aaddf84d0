"""Start an RQ worker (with its scheduler) for the zarts queues: `python worker.py [--burst]`.

Run any number of these, on any host that reaches the same REDIS_URL and DATABASE_URL.
"""
import argparse
import sys

from rq import SimpleWorker

from zarts import create_app
from zarts.queues import QUEUE_NAMES, get_queue, redis_connection


def main(argv=None):
    """Work the zarts queues inside one app context (jobs take ids and use the app's session)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        connection = redis_connection()
        if connection is None:
            print("worker: REDIS_URL is not set; without it jobs run inside the web process.", file=sys.stderr)
            return 2
        # SimpleWorker runs jobs in this process: no fork per job, and the app context stays valid.
        worker = SimpleWorker([get_queue(name) for name in QUEUE_NAMES], connection=connection)
        worker.work(burst=args.burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
