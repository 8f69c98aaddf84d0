"""Paths index bench: what the mapping studio's paths index and drift checks cost the pipeline.

    .venv/bin/python -m bench.paths_index [--n 5000] [--rounds 3]

The index is fed by the normalize batches (after each batch's commit), never by the request that
answers the provider, so the receipt path does not run it. Its cost is measured where it lives:
N stored events of every shipped webhook provider (bench/normalize_setup.py's realistic mix) drained
by one `python worker.py --burst`, alternating PATHS_INDEX=0 and PATHS_INDEX=1, each round from an
empty event table and an empty index (the worst case: every type is indexed in full for its first
100 deliveries). Medians of the rounds, and their ratio, in one run on a throwaway MariaDB schema.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import text  # noqa: E402

from bench import normalize_setup as setup  # noqa: E402


def drain(bench, n, indexed):
    setup.reset_events(bench)
    with bench.engine.begin() as conn:
        for table in ("drift_findings", "event_shapes"):
            conn.execute(text(f"DELETE FROM `{table}`"))
    ids = setup.store_events(bench, n, seed=n)
    job_ids = bench.enqueue(ids)
    bench.env["PATHS_INDEX"] = "1" if indexed else "0"
    setup.run_worker(bench, "--burst")
    assert setup.unfinished(bench) == 0, "events left unfinished"
    with bench.engine.connect() as conn:
        shapes = conn.execute(text("SELECT COUNT(*) FROM event_shapes")).scalar()
    assert (shapes > 0) == indexed, f"PATHS_INDEX={indexed} but {shapes} index rows"
    return n / setup.job_window(bench, job_ids), shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    bench = setup.open_bench(args.mysql_url, args.redis_url)
    try:
        rates = {False: [], True: []}
        rows = 0
        for _ in range(args.rounds):
            for indexed in (False, True):
                rate, shapes = drain(bench, args.n, indexed)
                rates[indexed].append(rate)
                rows = max(rows, shapes)
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        print(f"{args.n} events, {args.rounds} rounds, one worker: index off {off:,.0f} events/s "
              f"({', '.join(f'{r:,.0f}' for r in rates[False])}), on {on:,.0f} events/s "
              f"({', '.join(f'{r:,.0f}' for r in rates[True])}); on/off {on / off:.2f}x "
              f"(cost {(1 - on / off) * 100:.1f}%); {rows} index rows")
    finally:
        setup.close_bench(bench)


if __name__ == "__main__":
    main()
