"""Fixtures for the admin diagnostics tests."""
import pytest

from tests.factories import make_connection


@pytest.fixture
def stripe(app):
    """(connection, secret) of a new Stripe connection."""
    return make_connection("stripe")
