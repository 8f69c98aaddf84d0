"""`worker.py --processes N` (what `make worker` runs): N workers, a dead one replaced, one clean stop."""
import os
import signal
import time
from pathlib import Path

import pytest

from tests.jobs.processes import kill
from zarts import workers as worker_registry

pytestmark = pytest.mark.usefixtures("redis_app_config")


def alive_names(app, count, timeout=30):
    """The live workers' names once there are `count` of them (within timeout)."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            names = worker_registry.alive()
            if len(names) == count or time.monotonic() > deadline:
                return names
            time.sleep(0.2)


def child_pids(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_a_dead_worker_process_is_replaced_and_sigterm_stops_them_all(app, workers):
    supervisor = workers("--processes", "2")
    first = alive_names(app, 2)
    assert len(first) == 2, Path(supervisor.log_path).read_text()[-2000:]
    victim = child_pids(supervisor.pid)[0]
    os.killpg(victim, signal.SIGKILL)  # its own session: the scheduler it forked goes too
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and victim in child_pids(supervisor.pid):
        time.sleep(0.1)
    assert victim not in child_pids(supervisor.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(child_pids(supervisor.pid)) < 2:
        time.sleep(0.1)
    children = child_pids(supervisor.pid)
    assert len(children) == 2, Path(supervisor.log_path).read_text()[-2000:]
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(30) == 0
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    kill(supervisor)


def test_processes_must_be_a_positive_count(app, workers):
    proc = workers("--processes", "0")
    assert proc.wait(30) == 2
    assert "--processes must be 1 or more" in Path(proc.log_path).read_text()
