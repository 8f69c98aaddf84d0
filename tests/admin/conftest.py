"""Fixtures for the admin diagnostics tests."""
import pytest

from tests.factories import make_connection, make_user


@pytest.fixture
def admin(app, login):
    """A logged-in admin."""
    user = make_user("admin")
    login(user)
    return user


@pytest.fixture
def stripe(app):
    """(connection, secret) of a new Stripe connection."""
    return make_connection("stripe")
