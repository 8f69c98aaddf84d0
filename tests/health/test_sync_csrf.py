"""The test-sync button is a CSRF-protected write like every other admin post."""
import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from zarts.extensions import db
from zarts.models import SyncRun

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def app_config(app_config):
    """The suite's settings with CSRF protection switched on."""
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_test_sync_without_a_token_is_refused_and_with_one_runs(app, client, fake_source, sync_connection):
    user = make_user("admin")
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": user.email, "password": "correct-horse-battery",
                                "csrf_token": TOKEN_RE.search(page).group(1)})
    url = f"/admin/connections/{sync_connection.id}/test-sync"
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
    token = TOKEN_RE.search(client.get(f"/admin/connections/{sync_connection.id}/syncs").get_data(as_text=True)).group(1)
    response = client.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200 and 'data-count="created">5<' in response.get_data(as_text=True)
