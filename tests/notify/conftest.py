"""A real SMTP server (aiosmtpd) and a real HTTP receiver on 127.0.0.1, for notification tests."""
import json
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


@dataclass
class ReceivedEmail:
    """One message the SMTP server accepted; headers also readable (case-insensitively) on .message."""

    sender: str  # the envelope's MAIL FROM
    recipients: list[str]  # the envelope's RCPT TO addresses
    to: str
    subject: str
    text: str | None
    html: str | None
    headers: dict[str, str]
    message: EmailMessage


class SMTPServer:
    """Keeps what it receives in .messages; refuse(n, code) refuses the next n recipients (one per send_email)."""

    def __init__(self):
        self.messages = []
        self.refusals = []

    def refuse(self, n=1, code=451, text="4.3.0 try again later"):
        self.refusals.extend([f"{code} {text}"] * n)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        text, html = message.get_body(("plain",)), message.get_body(("html",))
        self.messages.append(ReceivedEmail(
            envelope.mail_from, list(envelope.rcpt_tos), message["To"], message["Subject"],
            text and text.get_content(), html and html.get_content(), {k: str(v) for k, v in message.items()},
            message,
        ))
        return "250 Message accepted for delivery"


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class HTTPReceiver:
    """Records each request in .requests and answers .status (200 unless a test sets another)."""

    def __init__(self):
        self.requests, self.status, self.url = [], 200, None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A local SMTP server the app mails to: .messages, .refuse(n=1, code=451)."""
    server = SMTPServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port(), server_hostname="localhost")
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                      MAIL_USERNAME=None, MAIL_PASSWORD=None, MAIL_SUPPRESS_SEND=False)
    yield server
    controller.stop()


@pytest.fixture
def http_receiver(app):
    """A local HTTP server: .url (a path on it), .requests, .status; private addresses allowed."""
    receiver = HTTPReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(ReceivedRequest(self.command, self.path, dict(self.headers.items()), body))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    app.config["NOTIFY_ALLOW_PRIVATE_ADDRESSES"] = True
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join()
