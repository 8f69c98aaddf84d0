"""Count what a request sends to MariaDB and Redis, per thread kind (profiling aid for the bench).

install() patches PyMySQL's command writer, redis-py's packet writer and SQLAlchemy's engine
events in this process only; nothing in zarts is changed.
"""
import re
import threading
from collections import Counter

_REDIS_CMD = re.compile(rb"^\*\d+\r\n\$\d+\r\n([A-Za-z]+)")
_PYMYSQL_COMMANDS = {3: "query", 14: "PING", 1: "QUIT", 22: "PREPARE", 23: "EXECUTE"}


class RoundTrips:
    """Counts by (thread kind, system, what)."""

    def __init__(self):
        self.counts = Counter()
        self.lock = threading.Lock()

    def add(self, system, what):
        kind = "relay" if threading.current_thread().name == "zarts-outbox" else "request"
        with self.lock:
            self.counts[(kind, system, what)] += 1

    def reset(self):
        with self.lock:
            self.counts.clear()

    def report(self, requests):
        """Per request averages, request thread first, then the outbox relay thread."""
        lines = ["round trips per request (averaged):"]
        for kind in ("request", "relay"):
            for system in ("mariadb", "redis", "sqlalchemy"):
                items = {w: n for (k, s, w), n in self.counts.items() if k == kind and s == system}
                if items:
                    total = sum(items.values()) / requests
                    detail = ", ".join(f"{w} {n / requests:.3f}" for w, n in sorted(items.items(), key=lambda i: -i[1]))
                    lines.append(f"  {kind:<7} {system:<10} {total:6.3f}  ({detail})")
        return "\n".join(lines)


def install():
    """Patch the drivers; returns the RoundTrips counter."""
    import pymysql.connections
    import redis.connection
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = RoundTrips()
    execute_command = pymysql.connections.Connection._execute_command

    def counted_execute(self, command, sql):
        what = _PYMYSQL_COMMANDS.get(command, str(command))
        if what == "query":
            text = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
            what = (text.split(None, 1) or ["?"])[0].upper()
        counter.add("mariadb", what)
        return execute_command(self, command, sql)

    pymysql.connections.Connection._execute_command = counted_execute
    send_packed = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        first = command if isinstance(command, (bytes, bytearray)) else (command[0] if command else b"")
        match = _REDIS_CMD.match(bytes(first[:64]))
        counter.add("redis", match.group(1).decode().upper() if match else "?")
        return send_packed(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted_send

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        counter.add("sqlalchemy", (statement.split(None, 1) or ["?"])[0].upper())

    @event.listens_for(Engine, "commit")
    def _commit(conn):
        counter.add("sqlalchemy", "commit()")

    @event.listens_for(Engine, "rollback")
    def _rollback(conn):
        counter.add("sqlalchemy", "rollback()")

    return counter
