"""The client digest: who gets it and when, what it says (cards and new notes, never a payload value,
never another client's), one-click unsubscribe per user, the admin's preview and switch."""
from datetime import date, timedelta

import pytest

from tests.factories import deliver, make_client, make_connection, make_user
from tests.portal.test_portal import charge, revenue_metric
from zarts.extensions import db
from zarts.models import AdminAction, Notification, RawEvent, ReportNote, User, utcnow
from zarts.services.notify import delivery, digest
from zarts.services.proof import notes

MARKER = "DIGESTMARKER-7f3a"  # planted in a delivered payload: it must never reach an email


def live_client(http, name=None, card="Monthly revenue"):
    """A client with one live card fed by a Stripe charge whose description carries MARKER."""
    customer = make_client(name)
    connection, secret = make_connection("stripe", client=customer)
    revenue_metric(connection, name=card)
    payload = charge(4200, f"ch_{customer.id}")
    payload["data"]["object"]["description"] = MARKER
    assert deliver(http, connection, secret, payload=payload).status_code == 202
    return customer


def rows(client_id=None):
    db.session.expire_all()
    query = db.select(Notification).filter_by(kind="digest").order_by(Notification.id)
    return db.session.scalars(query.filter_by(client_id=client_id) if client_id else query).all()


def test_one_digest_per_subscribed_client_user_with_the_cards_and_no_payload_value(app, client):
    customer = live_client(client, "Acme Dental")
    readers = [make_user("client", client=customer) for _ in range(2)]
    gone = make_user("client", client=customer)
    gone.digest_unsubscribed_at = utcnow()
    make_user("client", client=customer).active = False
    make_user("admin")
    db.session.commit()
    assert MARKER.encode() in db.session.scalar(db.select(RawEvent)).body  # the marker really arrived
    now = utcnow()
    assert digest.queue_due(now) == 2
    queued = rows()
    assert sorted(row.user_id for row in queued) == sorted(user.id for user in readers)
    for row in queued:
        assert row.status == "pending" and row.due_at == now and row.client_id == customer.id
        assert row.subject == "Acme Dental · your week in numbers"
        assert row.link == "http://127.0.0.1:5000/portal/"
        assert row.facts["cards"] == 1 and row.facts["notes"] == 0
        assert row.facts["unsubscribe_url"] == digest.unsubscribe_url(db.session.get(User, row.user_id),
                                                                       "http://127.0.0.1:5000")
        for part in (row.body, row.html):
            for text in ("Monthly revenue", "42 USD", "1,000", "We review pricing with you on the 1st.",
                         "Up to date, updated", "Open your portal", row.facts["unsubscribe_url"]):
                assert text in part, text
        assert all(MARKER not in part for part in (row.subject, row.body, row.html, str(row.facts)))
    assert customer.digest_sent_at == now


def test_not_again_before_the_interval(app, client):
    customer = live_client(client)
    make_user("client", client=customer)
    now = utcnow()
    assert digest.queue_due(now) == 1
    assert digest.queue_due(now + timedelta(days=6, hours=23)) == 0
    assert digest.queue_due(now + timedelta(days=7)) == 1
    app.config["DIGEST_EVERY_DAYS"] = 1
    assert digest.queue_due(now + timedelta(days=7, hours=23)) == 0
    assert digest.queue_due(now + timedelta(days=8)) == 1


def test_nothing_for_a_client_switched_off_or_without_cards(app, client):
    off = live_client(client)
    off.digest_enabled = False
    make_user("client", client=off)
    bare = make_client()
    make_user("client", client=bare)
    db.session.commit()
    assert digest.queue_due(utcnow()) == 0
    assert rows() == [] and off.digest_sent_at is None and bare.digest_sent_at is None


def test_another_clients_card_never_appears(app, client):
    ours = live_client(client, card="Our revenue 5521")
    theirs = live_client(client, card="Their revenue 9911")
    for customer in (ours, theirs):
        make_user("client", client=customer)
    assert digest.queue_due(utcnow()) == 2
    (mine,), (other,) = rows(ours.id), rows(theirs.id)
    assert "Our revenue 5521" in mine.html and "Their revenue 9911" not in mine.html + mine.body
    assert "Their revenue 9911" in other.html and "Our revenue 5521" not in other.html + other.body


def test_only_published_notes_newer_than_the_last_digest(app, client):
    customer = live_client(client)
    make_user("client", client=customer)
    notes.add_note(customer.id, "Old news")
    db.session.commit()
    now = utcnow()
    assert digest.queue_due(now) == 1
    notes.add_note(customer.id, "Price change in March", "Your new prices are live.")
    notes.add_note(customer.id, "Hidden note", visible=False)
    db.session.add(ReportNote(client_id=customer.id, title="Unreviewed draft", note_date=date.today(), status="draft"))
    db.session.commit()
    assert digest.queue_due(now + timedelta(days=7)) == 1
    latest = rows()[-1]
    assert latest.facts["notes"] == 1
    for part in (latest.body, latest.html):
        assert "Price change in March" in part and "Your new prices are live." in part
        assert "Old news" not in part and "Hidden note" not in part and "Unreviewed draft" not in part


@pytest.fixture
def two_readers(app, client):
    customer = live_client(client)
    return customer, make_user("client", client=customer), make_user("client", client=customer)


def test_unsubscribe_by_token_stops_it_for_that_user_only(app, client, two_readers):
    customer, leaving, staying = two_readers
    path = "/unsubscribe/" + digest.unsubscribe_url(leaving, "").rsplit("/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200
    assert leaving.email in page.get_data(as_text=True) and "Unsubscribe" in page.get_data(as_text=True)
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is None  # a GET (a link scanner) changes nothing
    done = client.post(path)
    assert done.status_code == 200
    assert "You will no longer receive the weekly summary" in done.get_data(as_text=True)
    assert "Subscribe again" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is not None
    assert db.session.get(User, staying.id).digest_unsubscribed_at is None
    assert digest.queue_due(utcnow()) == 1 and rows()[0].user_id == staying.id
    again = client.post(path + "/undo")
    assert again.status_code == 200 and "You are subscribed again" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is None


def test_a_tampered_or_foreign_token_is_a_404_in_plain_words(app, client, two_readers):
    _customer, leaving, _staying = two_readers
    token = digest.unsubscribe_url(leaving, "").rsplit("/", 1)[1]
    forged = digest.URLSafeSerializer("another-key", salt=digest.TOKEN_SALT).dumps(leaving.id)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense", token + "x"):
        for response in (client.get(f"/unsubscribe/{bad}"), client.post(f"/unsubscribe/{bad}"),
                         client.post(f"/unsubscribe/{bad}/undo")):
            assert response.status_code == 404
            assert "This unsubscribe link is not valid" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is None
    assert digest.user_for_token(token).id == leaving.id and digest.user_for_token(forged) is None


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_one_click_works_without_a_session_or_csrf_token_and_undo_needs_one(csrf_on, app, client, two_readers):
    _customer, leaving, _staying = two_readers
    path = "/unsubscribe/" + digest.unsubscribe_url(leaving, "").rsplit("/", 1)[1]
    one_click = client.post(path, data={"List-Unsubscribe": "One-Click"})  # what a mail client sends
    assert one_click.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is not None
    assert app.test_client().post(path + "/undo").status_code == 400
    token = one_click.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(path + "/undo", data={"csrf_token": token}).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, leaving.id).digest_unsubscribed_at is None


def test_the_sent_email_carries_one_click_unsubscribe_headers(app, client, two_readers, smtp_server):
    _customer, leaving, _staying = two_readers
    assert digest.queue_due(utcnow()) == 2
    delivery.flush()
    mail = next(m for m in smtp_server.messages if leaving.email in m.recipients)
    assert mail.headers["List-Unsubscribe"].strip() == f"<{digest.unsubscribe_url(leaving, 'http://127.0.0.1:5000')}>"
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Monthly revenue" in mail.html and "Monthly revenue" in mail.text and MARKER not in mail.html + mail.text


def test_the_admin_preview_shows_the_subject_and_the_card(app, client, admin, two_readers):
    customer, leaving, _staying = two_readers
    leaving.digest_unsubscribed_at = utcnow()
    db.session.commit()
    page = client.get(f"/admin/clients/{customer.id}/digest")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in (f"{customer.name} · your week in numbers", "Monthly revenue", "42 USD", leaving.email,
                 f"/admin/clients/{customer.id}/digest/email", "the client&#39;s users"):
        assert text in body, text
    email = client.get(f"/admin/clients/{customer.id}/digest/email")
    html = email.get_data(as_text=True)
    assert email.status_code == 200 and "Monthly revenue" in html and "Open your portal" in html
    assert 'href="#"' in html and "/unsubscribe/" not in html  # the preview's unsubscribe link is inert
    assert "sandbox" in email.headers["Content-Security-Policy"]
    assert MARKER not in body + html
    assert customer.digest_sent_at is None and rows() == []  # a preview sends nothing


def test_the_switch_is_audited_and_stops_the_digest(app, client, admin, two_readers):
    customer = two_readers[0]
    response = client.post(f"/admin/clients/{customer.id}/digest", data={"enabled": "0", "reason": "Client asked"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/clients/{customer.id}/digest")
    db.session.expire_all()
    assert customer.digest_enabled is False
    action = db.session.scalar(db.select(AdminAction).filter_by(action="client.digest"))
    assert (action.actor_id, action.target_type, action.target_id, action.reason) == \
        (admin.id, "client", str(customer.id), "Client asked")
    assert action.before == {"digest_enabled": True} and action.after == {"digest_enabled": False}
    assert digest.queue_due(utcnow()) == 0
    assert "Turn the digest on" in client.get(f"/admin/clients/{customer.id}/digest").get_data(as_text=True)
    client.post(f"/admin/clients/{customer.id}/digest", data={"enabled": "1"})
    db.session.expire_all()
    assert customer.digest_enabled is True and digest.queue_due(utcnow()) == 2
    assert client.post(f"/admin/clients/{customer.id}/digest", data={"enabled": "yes"}).status_code == 400


def test_a_client_user_gets_403_on_the_admin_preview(app, client, login, two_readers):
    customer, leaving, _staying = two_readers
    login(leaving)
    for response in (client.get(f"/admin/clients/{customer.id}/digest"),
                     client.get(f"/admin/clients/{customer.id}/digest/email"),
                     client.post(f"/admin/clients/{customer.id}/digest", data={"enabled": "0"})):
        assert response.status_code == 403
    db.session.expire_all()
    assert customer.digest_enabled is True
