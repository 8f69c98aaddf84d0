"""What every page carries around its content: who is signed in, and the favicon."""
from tests.factories import make_client, make_user


def test_the_header_names_a_client_users_client_not_their_role(app, client, login):
    acme = make_client("Acme Dental")
    login(make_user("client", client=acme))
    html = client.get("/portal/").get_data(as_text=True)
    assert "· Acme Dental</span>" in html and "· client</span>" not in html


def test_the_header_says_admin_for_an_admin(app, client, login):
    login(make_user("admin"))
    assert "· admin</span>" in client.get("/admin/").get_data(as_text=True)


def test_favicon_ico_is_found_from_any_page_even_a_fragment_opened_on_its_own(app, client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200
    icon.close()
