"""Fixtures: app, client, runner, login; SQLite by default, MariaDB + Redis when configured."""
import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from tests import backends
from tests.factories import PASSWORD
from zarts import create_app
from zarts.extensions import db


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One throwaway database per run, migrated once with the real migrations."""
    url = backends.database_url(tmp_path_factory.mktemp("db"))
    app = create_app(_test_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    backends.drop_database(url)


@pytest.fixture(scope="session")
def redis_url():
    url = backends.redis_url()
    yield url
    if url:
        backends.clear_redis(url, f"zarts-test-{backends.RUN_ID}")


def _test_config(url, redis_url=None):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "ZARTS_SECRETS_KEY": Fernet.generate_key().decode(),
        "REDIS_URL": redis_url,
        "ZARTS_QUEUE_PREFIX": f"zarts-test-{backends.RUN_ID}",
        "WTF_CSRF_ENABLED": False,
        "OUTBOX_SYNC": True,
        "RATELIMIT_ENABLED": False,
        "CARD_REFRESH_SECONDS": 0,  # cards follow every batch; test_portal covers the debounce  # tests log in hundreds of times from one address
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; production uses scrypt
        "PATHS_INDEX_FLUSH_SECONDS": 0,  # the paths index follows every batch; bench/paths_index.py measures it
    }


@pytest.fixture
def app_config(database_url, redis_url):
    """The settings each test's app starts with; a test may change them before using `app`."""
    return _test_config(database_url, redis_url)


@pytest.fixture
def app(app_config):
    """A fresh app on the run's database; every table is emptied after the test."""
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """login(user) logs the test client in as user (factories' shared password)."""

    def do_login(user, password=PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


@pytest.fixture
def admin(app, login):
    """A logged-in admin."""
    from tests.factories import make_user

    user = make_user("admin")
    login(user)
    return user
