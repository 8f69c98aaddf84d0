"""Start the production web server for wsgi:app: `python serve.py` (what `make serve` runs).

gunicorn with gevent workers, chosen on measurements (docs/PERFORMANCE.md, "Choosing the
production server"): each connection is a greenlet, not a thread, so clients that never finish
their headers, bodies trickled a byte at a time and floods of idle keep-alive connections tie up
nothing the other requests need, and it ingested the most events per second of the servers
tried. Settings come from the environment:

  HOST (0.0.0.0)          PORT (8000)
  WEB_WORKERS             processes (default: one per CPU on MySQL/MariaDB; one on SQLite, where
                          only one process may write at a time and one process gathers every
                          concurrent delivery into one group commit: measured faster)
  WEB_CONNECTIONS         open connections each process holds at most (default 1000)
  WEB_KEEPALIVE           seconds an idle keep-alive connection stays open (default 5)

Run `python serve.py --print` to see the command without starting it.
"""
import os
import resource
import shutil
import sys

DEFAULTS = {"HOST": "0.0.0.0", "PORT": "8000", "WEB_CONNECTIONS": "1000", "WEB_KEEPALIVE": "5"}


def command(env=None):
    """The gunicorn command line for these settings (a list, ready for exec)."""
    env = {**DEFAULTS, **{k: v for k, v in (env if env is not None else os.environ).items() if v}}
    sqlite = env.get("DATABASE_URL", "sqlite").startswith("sqlite")  # unset: the embedded SQLite file
    env.setdefault("WEB_WORKERS", "1" if sqlite else str(os.cpu_count() or 1))
    for name in ("PORT", "WEB_WORKERS", "WEB_CONNECTIONS", "WEB_KEEPALIVE"):
        if not env[name].isdigit() or int(env[name]) < 1:
            raise SystemExit(f"serve: {name} must be a whole number above 0, got {env[name]!r}")
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn") or "gunicorn"
    host = f"[{env['HOST']}]" if ":" in env["HOST"] else env["HOST"]
    return [gunicorn, "--worker-class", "gevent", "--workers", env["WEB_WORKERS"],
            "--worker-connections", env["WEB_CONNECTIONS"], "--keep-alive", env["WEB_KEEPALIVE"],
            "--bind", f"{host}:{env['PORT']}", "--log-level", env.get("WEB_LOG_LEVEL", "warning"), "wsgi:app"]


def raise_open_files_limit(connections, workers):
    """Let every process hold its connections: each is a file descriptor, and a soft limit of
    1024 (common) would refuse connections long before WEB_CONNECTIONS."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections * workers + 1024  # the database pools, Redis, the log files
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard),
                                                    hard))


def main(argv=None):
    """Replace this process with the server (signals then go straight to it)."""
    argv = sys.argv[1:] if argv is None else argv
    cmd = command()
    if "--print" in argv:
        print(" ".join(cmd))
        return 0
    if not os.environ.get("REDIS_URL"):
        print("serve: REDIS_URL is not set, so background jobs run inside the web processes; "
              "for production set it and run `make worker`.", file=sys.stderr)
    raise_open_files_limit(int(cmd[cmd.index("--worker-connections") + 1]), int(cmd[cmd.index("--workers") + 1]))
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
