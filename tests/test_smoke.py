from tests.factories import make_user


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"]["ok"] is True
    assert body["queue"]["ok"] is True


def test_admin_and_client_land_on_their_homes(app, client, login):
    admin = make_user("admin")
    login(admin)
    assert client.get("/").headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
