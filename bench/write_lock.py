"""The SQLite write lock: zarts' blocking flock (zarts/services/ingest/write_lock.py) vs filelock.

Two processes with four threads each take the lock in turn, hold it for --hold-ms (about one
SQLite commit with fsync), and let go, as gunicorn workers' group commits do. Reported per
variant: lock hand-overs per second and the p50/p99 wait to get the lock. Run by hand:

    .venv/bin/python bench/write_lock.py [--seconds 5] [--hold-ms 1.0]
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy.engine import make_url  # noqa: E402

from zarts.services.ingest import write_lock  # noqa: E402


class _Engine:
    def __init__(self, path):
        self.url = make_url(f"sqlite:///{path}")


def _zarts(path):
    engine = _Engine(path)
    return lambda: write_lock.exclusive(engine)


def _filelock(poll):
    def make(path):
        from filelock import FileLock

        lock = FileLock(path + ".write-lock", thread_local=True)
        return lambda: lock.acquire(poll_interval=poll)
    return make


VARIANTS = {"zarts blocking flock": _zarts, "filelock (poll 50 ms, its default)": _filelock(0.05),
            "filelock (poll 1 ms)": _filelock(0.001)}


def _worker(name, path, seconds, hold, threads, out):
    take = VARIANTS[name](path)
    waits, stop = [], time.monotonic() + seconds
    guard = threading.Lock()

    def run():
        mine = []
        while time.monotonic() < stop:
            asked = time.perf_counter()
            with take():
                mine.append(time.perf_counter() - asked)
                end = time.perf_counter() + hold
                while time.perf_counter() < end:  # hold it like a commit would
                    pass
        with guard:
            waits.extend(mine)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(waits)


def measure(name, seconds, hold, processes=2, threads=4):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.sqlite")
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(name, path, seconds, hold, threads, out)) for _ in range(processes)]
        for p in procs:
            p.start()
        waits = [w for _ in procs for w in out.get()]
        for p in procs:
            p.join()
    waits.sort()
    return {"per_second": len(waits) / seconds, "p50_ms": 1000 * statistics.median(waits),
            "p99_ms": 1000 * waits[int(len(waits) * 0.99)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--hold-ms", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name in VARIANTS:
            results[name].append(measure(name, args.seconds, args.hold_ms / 1000))
    base = statistics.median(r["per_second"] for r in results["zarts blocking flock"])
    print("| variant | hand-overs/s | vs zarts | p50 wait ms | p99 wait ms |\n|---|---:|---:|---:|---:|")
    for name, rows in results.items():
        rate = statistics.median(r["per_second"] for r in rows)
        print(f"| {name} | {rate:.0f} | {rate / base:.2f}x | {statistics.median(r['p50_ms'] for r in rows):.2f} | "
              f"{statistics.median(r['p99_ms'] for r in rows):.2f} |")


if __name__ == "__main__":
    main()
