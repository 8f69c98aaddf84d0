"""One writer at a time across processes on SQLite, queued by the kernel instead of by sleeping.

SQLite lets one connection of all processes write at a time. A writer that finds the file locked
sleeps in SQLite's busy handler in growing steps (up to 100 ms), so with several gunicorn workers
most of a writer's wait is sleep after the file was already free. The hot writers (the webhook
group commit and the outbox relay) take an exclusive flock on a file beside the database first:
the kernel hands it over the moment it is released, and while one process writes, the others'
groups grow. Other databases handle concurrent writers themselves; there this is a no-op.
"""
import contextlib
import fcntl
import logging
import os
import threading

from ...blocking import off_the_loop

log = logging.getLogger(__name__)

_state = threading.local()
_guard = threading.Lock()
_locks = {}  # (pid, lock path) -> (threading.Lock, file descriptor)


def lock_path(url):
    """The lock file for a SQLite file URL (None for in-memory databases and other backends)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.abspath(database) + ".write-lock"


@contextlib.contextmanager
def exclusive(engine):
    """Hold the database's cross-process write lock for the block (re-entrant per thread)."""
    path = lock_path(engine.url)
    held = getattr(_state, "held", None)
    if path is None or held == path:
        yield
        return
    entry = _lock_for(path)
    if entry is None:  # SQLite's own locking still keeps writes correct, only slower
        yield
        return
    thread_lock, fd = entry
    with thread_lock:  # flock belongs to the open file, which this process's threads share
        off_the_loop(fcntl.flock, fd, fcntl.LOCK_EX)  # while another process writes
        _state.held = path
        try:
            yield
        finally:
            _state.held = None
            fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_for(path):
    """This process's thread lock and open lock file for `path` (opened anew after a fork), or
    None when the file cannot be opened (warned about once per process)."""
    key = (os.getpid(), path)
    with _guard:
        if key not in _locks:
            try:
                _locks[key] = (threading.Lock(), os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            except OSError as exc:
                log.warning("no SQLite write lock at %s (%s); writers fall back to SQLite's busy handler",
                            path, exc)
                _locks[key] = None
        return _locks[key]
