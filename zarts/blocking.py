"""Blocking calls that must not stop a gevent worker's other requests.

Under `make serve` every connection is a greenlet and all of a process's greenlets share one OS
thread: a call that blocks inside C (SQLite's fsync on commit, waiting for the cross-process SQLite
write lock) would stop every request in the process, and the group commit could never grow a
group meanwhile. off_the_loop runs such a call on gevent's thread pool there, and simply calls it
everywhere else (`make run`, the tests, the workers).
"""
import sys


def off_the_loop(fn, *args):
    """fn(*args), on a native thread of gevent's pool when this process runs under gevent."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return fn(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args)
