"""wsgi:app with every request profiled by pyinstrument in its own thread (bench/profile_ingest.py).

Each gunicorn worker aggregates its requests' samples and prints the combined profile, plus the
round trips counted per request, to stderr when it exits. Profiling slows everything down: read
the shares, not the absolute times.
"""
import atexit
import os
import sys
import threading

from pyinstrument import Profiler
from pyinstrument.session import Session

from bench import roundtrips
from wsgi import app as zarts_app

INTERVAL = float(os.environ.get("BENCH_PROFILE_INTERVAL", "0.0005"))
_sessions = []
_lock = threading.Lock()
_counter = roundtrips.install()
_requests = [0]


def app(environ, start_response):
    """Profile one request of the zarts app (only count its round trips when INTERVAL is 0)."""
    if not INTERVAL:
        with _lock:
            _requests[0] += 1
        return zarts_app(environ, start_response)
    profiler = Profiler(interval=INTERVAL, async_mode="disabled")
    profiler.start()
    try:
        return list(zarts_app(environ, start_response))
    finally:
        session = profiler.stop()
        with _lock:
            _sessions.append(session)
            _requests[0] += 1


def _report():
    with _lock:
        sessions = list(_sessions)
    if not sessions:
        sys.stderr.write(f"==== worker {os.getpid()}: {_requests[0]} requests\n{_counter.report(_requests[0])}\n")
        return
    first = sessions[0]
    combined = Session(
        frame_records=[record for s in sessions for record in s.frame_records],
        start_time=first.start_time, duration=sum(s.duration for s in sessions),
        min_interval=min(s.min_interval for s in sessions), max_interval=max(s.max_interval for s in sessions),
        sample_count=sum(s.sample_count for s in sessions), start_call_stack=first.start_call_stack,
        target_description=f"worker {os.getpid()}: {len(sessions)} requests", cpu_time=sum(s.cpu_time for s in sessions),
        sys_path=first.sys_path, sys_prefixes=first.sys_prefixes,
    )
    from pyinstrument.renderers import ConsoleRenderer

    out = [f"==== worker {os.getpid()}: {len(sessions)} requests, "
           f"{combined.duration * 1000 / len(sessions):.2f} ms wall per request (profiled)",
           _counter.report(_requests[0]),
           ConsoleRenderer(time="percent_of_total").render(combined),
           ConsoleRenderer(flat=True, time="percent_of_total").render(combined)[:5000]]
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()


atexit.register(_report)
