"""The SQLite write lock excludes other processes and other threads, and is a no-op elsewhere."""
import fcntl
import multiprocessing
import os
import threading
import time

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from zarts.services.ingest import write_lock


def test_lock_path_only_for_sqlite_files(tmp_path):
    assert write_lock.lock_path(make_url(f"sqlite:///{tmp_path}/z.sqlite")) == f"{tmp_path}/z.sqlite.write-lock"
    assert write_lock.lock_path(make_url("sqlite://")) is None
    assert write_lock.lock_path(make_url("sqlite:///:memory:")) is None
    assert write_lock.lock_path(make_url("mysql+pymysql://root@127.0.0.1/x")) is None


def _try_lock(path, answer):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        answer.put("got it")
    except BlockingIOError:
        answer.put("blocked")


def test_another_process_waits_while_the_lock_is_held(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/z.sqlite")
    answer = multiprocessing.get_context("fork").Queue()
    with write_lock.exclusive(engine):
        child = multiprocessing.get_context("fork").Process(
            target=_try_lock, args=(write_lock.lock_path(engine.url), answer))
        child.start()
        child.join(10)
        assert answer.get(timeout=5) == "blocked"
    child = multiprocessing.get_context("fork").Process(target=_try_lock, args=(write_lock.lock_path(engine.url), answer))
    child.start()
    child.join(10)
    assert answer.get(timeout=5) == "got it"


def test_threads_take_turns_and_the_lock_is_reentrant(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/z.sqlite")
    inside, overlaps = [0], []

    def work():
        for _ in range(20):
            with write_lock.exclusive(engine), write_lock.exclusive(engine):  # nested: no self-deadlock
                inside[0] += 1
                overlaps.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == [1] * 80


def test_an_unwritable_lock_file_falls_back_to_sqlite_locking(tmp_path, caplog):
    engine = create_engine(f"sqlite:///{tmp_path}/missing-dir/z.sqlite")  # the lock file cannot be created
    for _ in range(3):
        with write_lock.exclusive(engine):
            pass
    assert caplog.text.count("no SQLite write lock") == 1
