"""Background work asked for by name: services call submit(); zarts.jobs says what each name runs.

With Redis (REDIS_URL) each submitted call becomes an RQ job on the zarts queue. Without it (the
embedded default) the caller is already off the request path (the outbox relay or sweeper
thread, a CLI command, a test), so the work runs right there. Services never import zarts.jobs:
the jobs package registers its entry points here when the app is created.
"""
from dataclasses import dataclass
from typing import Callable

from flask import current_app
from redis.exceptions import RedisError

from .queues import get_queue

FAILURE_TTL_SECONDS = 86400


@dataclass(frozen=True)
class Job:
    """A registered entry point and how long one run of it may take."""

    func: Callable
    timeout: int

    @property
    def path(self):
        return f"{self.func.__module__}.{self.func.__qualname__}"


_jobs = {}


def register(name, func, timeout):
    """Make `name` run `func` (an importable module-level function taking ids)."""
    _jobs[name] = Job(func, timeout)


def job(name):
    """The registered Job for name; LookupError when the app was never created."""
    try:
        return _jobs[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}: jobs are registered by create_app()") from None


def queued():
    """True when submitted work goes to workers through Redis, False when it runs in-process."""
    return get_queue() is not None


def submit(name, *args):
    """Run name(*args) in the background; True when handed over (or done, without Redis).

    False when the queue is unreachable: the work is not lost only because its record is still
    waiting in the database, and each caller says who picks it up.
    """
    return submit_many(name, [args])


def submit_many(name, calls):
    """submit() for each tuple of arguments in `calls`, in one Redis round trip."""
    entry, queue = job(name), get_queue()
    if queue is None:
        for args in calls:
            entry.func(*args)
        return True
    try:
        with queue.connection.pipeline() as pipe:
            for args in calls:
                queue.enqueue(entry.path, *args, job_timeout=entry.timeout, result_ttl=0,
                              failure_ttl=FAILURE_TTL_SECONDS, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        current_app.logger.warning("queue unreachable, %d %s job(s) not handed over: %s", len(calls), name,
                                   type(exc).__name__)
        return False
    return True
