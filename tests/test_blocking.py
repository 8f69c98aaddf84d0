"""Under gevent (`make serve`), a call that blocks in C runs off the loop: the other greenlets go on."""
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
from gevent import monkey; monkey.patch_all()
import fcntl, os, sys, time
import gevent
from zarts.blocking import off_the_loop

fd, ticks = os.open(sys.argv[1], os.O_RDWR), []

def tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)

gevent.spawn(tick)
gevent.sleep(0)
print("waiting", flush=True)
if sys.argv[2] == "off":
    off_the_loop(fcntl.flock, fd, fcntl.LOCK_EX)
else:
    fcntl.flock(fd, fcntl.LOCK_EX)
print(len(ticks), flush=True)
"""


@pytest.mark.parametrize("how, other_requests_run", [("off", True), ("inline", False)])
def test_a_blocking_wait_off_the_loop_lets_other_greenlets_run(tmp_path, how, other_requests_run):
    lock = tmp_path / "write-lock"
    lock.touch()
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is writing
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(lock), how], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "waiting"
        time.sleep(0.5)
        fcntl.flock(fd, fcntl.LOCK_UN)
        ticks = int(proc.stdout.readline())
    finally:
        proc.wait(10)
        proc.stdout.close()
        os.close(fd)
    assert (ticks >= 20) is other_requests_run, ticks


def test_without_gevent_it_is_a_plain_call():
    from zarts.blocking import off_the_loop

    assert off_the_loop(os.getpid) == os.getpid()
