"""Sending one message: email over a real SMTP server, Slack and signed webhooks to a real HTTP server."""
import socket

import pytest
from standardwebhooks.webhooks import Webhook

from tests.notify.conftest import free_port
from zarts.services.notify import channels
from zarts.services.notify.channels import ChannelError, NotConfigured

TOKEN_PATH = "/services/T0001/B0002/xoxsecrettoken"


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def no_traffic(monkeypatch):
    """Fail the test if anything connects anywhere."""

    def refuse(*args, **kwargs):
        raise AssertionError("no connection expected")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(channels, "pinned_pool", refuse)


def test_email_arrives_with_text_html_and_headers(smtp_server):
    channels.send_email("owner@example.com", "Acme: webhooks failing", "Plain words.", html="<p>Plain words.</p>",
                        headers={"List-Unsubscribe": "<http://127.0.0.1:5000/u/abc>",
                                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    [mail] = smtp_server.messages
    assert mail.recipients == ["owner@example.com"] and mail.to == "owner@example.com"
    assert mail.sender == "alerts@zarts.localhost"
    assert mail.headers["From"] == "ZartsAlgo <alerts@zarts.localhost>"
    assert mail.subject == "Acme: webhooks failing"
    assert mail.text.strip() == "Plain words." and mail.html.strip() == "<p>Plain words.</p>"
    assert mail.headers["List-Unsubscribe"] == "<http://127.0.0.1:5000/u/abc>"
    assert mail.message["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"


def test_text_only_email(smtp_server):
    channels.send_email("owner@example.com", "Digest", "Only text")
    [mail] = smtp_server.messages
    assert mail.text.strip() == "Only text" and mail.html is None


def test_no_mail_server_is_not_configured(app):
    app.config["MAIL_SERVER"] = None
    with pytest.raises(NotConfigured) as caught:
        channels.send_email("owner@example.com", "s", "t")
    assert isinstance(caught.value, ChannelError)
    assert caught.value.reason == "not sent: no mail server configured"
    assert caught.value.transient is False


def test_refused_delivery_is_transient_then_succeeds(smtp_server):
    smtp_server.refuse(1)
    with pytest.raises(ChannelError) as caught:
        channels.send_email("owner@example.com", "s", "t")
    assert caught.value.transient is True and "451" in caught.value.reason
    channels.send_email("owner@example.com", "s", "t")
    assert len(smtp_server.messages) == 1


def test_rejected_recipient_is_permanent(smtp_server):
    smtp_server.refuse(1, code=550, text="5.1.1 no such user")
    with pytest.raises(ChannelError) as caught:
        channels.send_email("nobody@example.com", "s", "t")
    assert caught.value.transient is False and "550" in caught.value.reason


def test_mail_server_down_is_transient(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_SUPPRESS_SEND=False)
    with pytest.raises(ChannelError) as caught:
        channels.send_email("owner@example.com", "s", "t")
    assert caught.value.transient is True and caught.value.reason.startswith("could not connect to the mail server")


def test_silent_mail_server_times_out(app, silent_port):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent_port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=0.5)
    with pytest.raises(ChannelError) as caught:
        channels.send_email("owner@example.com", "s", "t")
    assert caught.value.transient is True and "timed out" in caught.value.reason


def test_slack_posts_text(http_receiver):
    channels.send_slack(http_receiver.url + TOKEN_PATH, "Acme: 3 webhooks failed")
    [request] = http_receiver.requests
    assert request.method == "POST" and request.path == "/hook" + TOKEN_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"text": "Acme: 3 webhooks failed"}


def test_signed_webhook_verifies(http_receiver):
    secret = channels.new_webhook_secret()
    assert secret.startswith("whsec_")
    channels.send_webhook(http_receiver.url, secret, {"type": "connection.failing", "n": 3}, "msg_123")
    [request] = http_receiver.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_123"
    assert Webhook(secret).verify(request.body, request.headers) == {"type": "connection.failing", "n": 3}


@pytest.mark.parametrize("status, transient", [(500, True), (503, True), (429, True), (404, False), (400, False),
                                               (301, False)])
def test_error_answers(http_receiver, status, transient):
    http_receiver.status = status
    url = http_receiver.url + TOKEN_PATH
    with pytest.raises(ChannelError) as caught:
        channels.send_slack(url, "hello")
    assert caught.value.transient is transient
    assert caught.value.reason.startswith(f"the destination answered {status}")
    assert "xoxsecrettoken" not in caught.value.reason and "127.0.0.1" not in caught.value.reason


def test_unreachable_destination_is_transient(app):
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = True
    with pytest.raises(ChannelError) as caught:
        channels.send_webhook(f"http://127.0.0.1:{free_port()}{TOKEN_PATH}", channels.new_webhook_secret(), {}, "m1")
    assert caught.value.transient is True and caught.value.reason.startswith("could not connect")
    assert "xoxsecrettoken" not in caught.value.reason and "127.0.0.1" not in caught.value.reason


def test_silent_destination_times_out(app, silent_port, monkeypatch):
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = True
    monkeypatch.setattr(channels, "HTTP_TIMEOUT_SECONDS", 0.5)
    with pytest.raises(ChannelError) as caught:
        channels.send_slack(f"http://127.0.0.1:{silent_port}{TOKEN_PATH}", "hello")
    assert caught.value.transient is True and caught.value.reason == "could not connect: no answer within 0.5 seconds"


@pytest.mark.parametrize("url, words", [
    ("ftp://x", "https://"),
    ("http:///nohost", "no host"),
    ("https://example.com:99999/", "invalid port"),
    ("http://127.0.0.1/x", "internal"),
    ("http://169.254.169.254/latest", "internal"),
    ("http://[::ffff:127.0.0.1]/", "internal"),
    ("http://10.1.2.3/", "internal"),
])
def test_url_problem_refuses(app, no_traffic, url, words):
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = False
    problem = channels.url_problem(url)
    assert problem and words in problem


def test_sending_to_an_internal_address_is_refused(app, no_traffic):
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = False
    with pytest.raises(ChannelError) as caught:
        channels.send_slack("http://127.0.0.1/" + TOKEN_PATH, "hello")
    assert caught.value.transient is False and "NOTIFY_ALLOW_PRIVATE_ADDRESSES" in caught.value.reason
    assert "xoxsecrettoken" not in caught.value.reason


def test_url_problem_accepts(app, no_traffic, monkeypatch):
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = True
    assert channels.url_problem("http://127.0.0.1:5000/hook") is None

    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    assert channels.url_problem("https://hooks.example.invalid/x") is None
