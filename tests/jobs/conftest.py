"""Fixtures: real worker processes, and a Redis of the test's own that a test may stop and start again."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobs.processes import RedisServer, free_port, kill
from zarts.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own (the shared one must never be stopped)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server on the PATH (apt-get install redis-server) to run a Redis of its own")
    server = RedisServer(binary, free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app_config(app_config, private_redis):
    """The app's settings, with jobs going through the private Redis."""
    app_config["REDIS_URL"] = private_redis.url
    return app_config


@pytest.fixture
def workers(app, tmp_path):
    """start(*args) runs `python worker.py *args` against this test's database and queues."""
    started = []
    env = {
        **os.environ, "ZARTS_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
        "ZARTS_QUEUE_PREFIX": app.config["ZARTS_QUEUE_PREFIX"], "SECRET_KEY": app.config["SECRET_KEY"],
        "ZARTS_SECRETS_KEY": app.config["ZARTS_SECRETS_KEY"],
    }

    def start(*args):
        db.session.commit()  # the workers see only what is committed
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        # Its own process group: RQ forks a scheduler process, which a kill must take down too.
        proc = subprocess.Popen([sys.executable, "worker.py", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log_path = log.name
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        kill(proc)
        log.close()
