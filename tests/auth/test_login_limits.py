"""The login limits hold across processes (Redis, else the database) and per account, from any address."""
import uuid
from datetime import timedelta

import pytest

from tests.factories import make_user
from zarts import create_app
from zarts.extensions import db
from zarts.limit_storage import DatabaseStorage
from zarts.models import RateLimitCounter, utcnow
from zarts.security import submitted_account


def _address():
    """A client address no other test uses (limit counters in Redis outlive a test)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def _attempt(client, email, address):
    """One wrong password for email, from address."""
    return client.post("/login", data={"email": email, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": address})


def _unknown_email():
    return f"nobody-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture
def limited_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


def test_two_app_instances_on_one_database_allow_only_the_limit_together(limited_config, app, client):
    """Each create_app starts the limiter on its own storage, as each gunicorn worker does: the
    count must live in Redis or the database, not in one process's memory."""
    address = _address()
    for _ in range(5):
        assert _attempt(client, _unknown_email(), address).status_code == 200
    second = create_app(limited_config)
    try:
        other = second.test_client()
        for _ in range(5):
            assert _attempt(other, _unknown_email(), address).status_code == 200
        assert _attempt(other, _unknown_email(), address).status_code == 429
        assert _attempt(client, _unknown_email(), address).status_code == 429
    finally:
        with second.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("exists", [True, False])
def test_the_per_account_limit_holds_across_addresses_and_spellings(limited_config, app, client, exists):
    email = make_user("admin").email if exists else _unknown_email()
    local, domain = email.split("@")
    spellings = [email, email.upper(), f"  {email} ", f"{local[0]}\u0301{local[1:]}@{domain}",
                 f"{local[0]}\u200b{local[1:]}@{domain}"]
    for attempt in range(10):
        assert _attempt(client, spellings[attempt % len(spellings)], _address()).status_code == 200
    locked = _attempt(client, email, _address())
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] and "Too many attempts" in locked.get_data(as_text=True)
    assert _attempt(client, _unknown_email(), _address()).status_code == 200, "other accounts are not locked"


def test_the_account_key_is_the_folded_email_hashed(app):
    keys = set()
    for email in ("Ann@Example.com", " ann@example.com", "ánn@example.com", "a\u200bnn@example.com", "ANN@EXAMPLE.COM"):
        with app.test_request_context("/login", method="POST", data={"email": email}):
            keys.add(submitted_account())
    assert len(keys) == 1
    (key,) = keys
    assert "ann" not in key and key.startswith("account:")
    with app.test_request_context("/login", method="POST", data={"email": "bob@example.com"}):
        assert submitted_account() not in keys


def test_database_counters_count_per_window_and_clear_ended_ones(app):
    storage = DatabaseStorage()
    db.session.add(RateLimitCounter(key_digest="0" * 64, expires_at=utcnow() - timedelta(minutes=1), hits=3))
    db.session.commit()
    assert storage.check()
    assert [storage.incr("key", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("key") == 3 and storage.get("other") == 0
    assert 0 < storage.get_expiry("key") - utcnow().timestamp() <= 60
    (row,) = db.session.scalars(db.select(RateLimitCounter)).all()  # the ended window went; no key in clear
    assert row.hits == 3 and "key" not in row.key_digest
    db.session.execute(db.update(RateLimitCounter).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert storage.get("key") == 0
    assert storage.incr("key", 60) == 1, "a new window starts once the last one ended"
    assert 59 <= storage.get_expiry("key") - utcnow().timestamp() <= 60
    storage.clear("key")
    assert storage.get("key") == 0
