"""CSV import bench: generated lead files through upload, dry run and import on a throwaway MariaDB schema.

    .venv/bin/python -m bench.csv_import [--rows 10000,100000] [--mysql mysql+pymysql://root@127.0.0.1:3306/]

Each file is imported by its own child process (the embedded mode, no Redis: the import runs in
that process, exactly what `flask zarts import-csv` does), which reports its own timings and its
peak resident memory (VmHWM) next to the memory it had before the file was touched. Flat means
the peak does not grow with the row count. Each file is also delivered once as a signed text/csv
webhook (streamed from disk into the real endpoint, in a child of its own: receipt, spooling,
signature check, storage, dry run and import all happen in that one request without Redis).
The schema zarts_bench_<random> and the temp files are removed afterwards.
"""
import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ("new", "contacted", "qualified", "proposal", "won", "lost")


def write_file(path, rows, prefix):
    """rows generated leads (about 90 bytes a row), written as they are generated; 'campaign' is a
    column the mapping does not use, kept on each record as a field."""
    with open(path, "w", newline="") as out:
        out.write("row_key,email,name,stage,value,created,campaign\n")
        for i in range(rows):
            out.write(f"{prefix}-{i},lead{i}@example.com,Lead {i} Example,{STAGES[i % 6]},{(i % 997) * 10}.50,"
                      f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d},fall-{i % 7}\n")


def memory_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(connection_id, path, force):
    """Import one file in this process; print one JSON line with timings and memory."""
    from zarts import create_app
    from zarts.extensions import db
    from zarts.services.imports import csv_import

    app = create_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        before = memory_kb("VmRSS")
        started = time.perf_counter()
        with open(path, "rb") as stream:
            imp = csv_import.upload(connection_id, os.path.basename(path), stream)
        uploaded = time.perf_counter()
        csv_import.start_check(imp, csv_import.proposed_section(imp), save=False, inline=True)
        db.session.refresh(imp)
        checked = time.perf_counter()
        csv_import.confirm(imp, force=force, inline=True)
        db.session.refresh(imp)
        done = time.perf_counter()
        print(json.dumps({
            "rows": imp.total_rows, "status": imp.status, "counts": imp.counts, "size": imp.size,
            "upload_s": uploaded - started, "dry_run_s": checked - uploaded, "import_s": done - checked,
            "rss_before_kb": before, "peak_kb": memory_kb("VmHWM"),
        }))


def webhook_child(connection_id, path, secret):
    """Deliver one file as a signed text/csv webhook in this process (streamed from disk); one JSON line."""
    import base64
    import hashlib
    import hmac

    from zarts import create_app
    from zarts.extensions import db
    from zarts.models import Connection, CsvImport

    app = create_app()
    with app.app_context():
        ingest_path = db.session.get(Connection, connection_id).ingest_path
        before = memory_kb("VmRSS")
        msg_id, timestamp = f"msg_bench_{secrets.token_hex(8)}", str(int(time.time()))
        mac = hmac.new(base64.b64decode(secret.removeprefix("whsec_")), f"{msg_id}.{timestamp}.".encode(),
                       hashlib.sha256)
        with open(path, "rb") as body:
            while chunk := body.read(1 << 20):
                mac.update(chunk)
        headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp,
                   "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode(),
                   "Content-Type": "text/csv", "Content-Length": str(os.path.getsize(path)),
                   "Content-Disposition": f'attachment; filename="{os.path.basename(path)}"'}
        started = time.perf_counter()
        with open(path, "rb") as body:
            response = app.test_client().post(ingest_path, input_stream=body, headers=headers)
        took = time.perf_counter() - started
        answer = response.get_json()
        imp = db.session.get(CsvImport, answer["import_id"])
        print(json.dumps({"answer": response.status_code, "rows": imp.total_rows, "status": imp.status,
                          "counts": imp.counts, "size": imp.size, "request_s": took,
                          "rss_before_kb": before, "peak_kb": memory_kb("VmHWM")}))


def run_child(env, connection_id, path, force=False, secret=None):
    cmd = [sys.executable, "-m", "bench.csv_import", "--child", str(connection_id), path]
    if secret:
        cmd += ["--webhook-secret", secret]
    out = subprocess.run(cmd + (["--force"] if force else []), env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def flask(env, *args):
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return out.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--mysql", default="mysql+pymysql://root@127.0.0.1:3306/")
    parser.add_argument("--child", nargs=2, metavar=("CONNECTION", "PATH"))
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--webhook-secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.webhook_secret:
        return webhook_child(int(args.child[0]), args.child[1], args.webhook_secret)
    if args.child:
        return child(int(args.child[0]), args.child[1], args.force)

    run_id = secrets.token_hex(4)
    name = f"zarts_bench_{run_id}"
    base = make_url(args.mysql)
    server = create_engine(base.set(database=None))
    with server.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    tmp = tempfile.mkdtemp(prefix="zarts-bench-csv-")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATABASE_URL=base.set(database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False),
               SECRET_KEY=secrets.token_hex(32), ZARTS_SECRETS_KEY=Fernet.generate_key().decode(),
               ZARTS_ENV="development")
    try:
        flask(env, "db", "upgrade")
        client = json.loads(flask(env, "zarts", "create-client", "--name", f"Bench {run_id}", "--json"))
        email = f"bench-{run_id}@example.com"
        flask(env, "zarts", "create-user", "--email", email, "--password", secrets.token_hex(12), "--role", "admin")
        connection = json.loads(flask(env, "zarts", "create-connection", "--provider", "manual_csv_import",
                                      "--client", client["slug"], "--owner", email, "--reason", "csv bench", "--json"))
        results, delivered = [], []
        for rows in [int(r) for r in args.rows.split(",")]:
            path = os.path.join(tmp, f"leads-{rows}.csv")
            write_file(path, rows, f"B{rows}")
            results.append(("new rows", run_child(env, connection["id"], path)))
            results.append(("same file again", run_child(env, connection["id"], path, force=True)))
            path = os.path.join(tmp, f"delivered-{rows}.csv")
            write_file(path, rows, f"W{rows}")
            delivered.append(run_child(env, connection["id"], path, secret=connection["secret"]))
        print("| file | rows | size | upload | dry run (rows/s) | import (rows/s) | RSS before | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in results:
            print(f"| {label} | {r['rows']:,} | {r['size'] / 1048576:.1f} MB | {r['upload_s']:.2f} s "
                  f"| {r['dry_run_s']:.1f} s ({r['rows'] / r['dry_run_s']:,.0f}) "
                  f"| {r['import_s']:.1f} s ({r['rows'] / r['import_s']:,.0f}) "
                  f"| {r['rss_before_kb'] / 1024:.0f} MB | {r['peak_kb'] / 1024:.0f} MB |")
        for label, r in results:
            print(f"  {label} {r['rows']}: {json.dumps(r['counts'])}")
        print()
        print("| delivered by webhook | rows | size | answer | request (rows/s) | RSS before | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in delivered:
            print(f"| signed text/csv | {r['rows']:,} | {r['size'] / 1048576:.1f} MB | {r['answer']} "
                  f"| {r['request_s']:.1f} s ({r['rows'] / r['request_s']:,.0f}) "
                  f"| {r['rss_before_kb'] / 1024:.0f} MB | {r['peak_kb'] / 1024:.0f} MB |")
        for r in delivered:
            print(f"  delivered {r['rows']}: {r['status']} {json.dumps(r['counts'])}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


if __name__ == "__main__":
    main()
