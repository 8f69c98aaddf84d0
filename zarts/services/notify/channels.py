"""Sending one message over one channel: email (Flask-Mail), a Slack-compatible incoming webhook, a signed webhook.

Failures raise ChannelError, whose reason is shown to admins: it never holds a secret or a URL (a Slack
URL carries its token). Webhook URLs are checked like sync endpoints (sync.addresses): the host is resolved
once, internal addresses are refused unless NOTIFY_ALLOW_PRIVATE_ADDRESSES is set, and the connection goes
to the checked address. Redirects are not followed and nothing waits longer than a timeout.
"""
import json
import smtplib
from urllib.parse import urlsplit, urlunsplit

import flask_mail
from flask import current_app
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as HTTPTimeout
from urllib3.util import Timeout

from ... import extensions
from ..ingest import secrets, signatures
from ..sync import addresses
from ..sync.source import pinned_pool

HTTP_TIMEOUT_SECONDS = 10
USER_AGENT = "zarts-notify/1"
PRIVATE = ("the address is internal (loopback, private, link-local or cloud metadata); notifications only "
           "reach public addresses unless NOTIFY_ALLOW_PRIVATE_ADDRESSES is set")


class ChannelError(Exception):
    """Sending failed: .reason (plain words for the admin, never a secret or URL token), .transient (worth a retry)."""

    def __init__(self, reason, transient=True):
        super().__init__(reason)
        self.reason, self.transient = reason, transient


class NotConfigured(ChannelError):
    """Nothing can carry this message (no mail server is configured)."""

    def __init__(self, reason="not sent: no mail server configured", transient=False):
        super().__init__(reason, transient)


class _Connection(flask_mail.Connection):
    """Flask-Mail's SMTP connection with a socket timeout, which Flask-Mail 0.10 does not offer."""

    def __init__(self, state, timeout):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self):
        smtp = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=self.timeout)
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host


def send_email(to, subject, text, html=None, headers=None):
    """Email `to` over the MAIL_* server (settings read now); NotConfigured without MAIL_SERVER."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        raise NotConfigured()
    message = flask_mail.Message(subject, [to], body=text, html=html, sender=config.get("MAIL_DEFAULT_SENDER"),
                                 extra_headers=dict(headers or {}))
    state = extensions.mail.init_mail(config, current_app.debug, current_app.testing)
    try:
        with _Connection(state, config.get("MAIL_TIMEOUT", 10)) as connection:
            connection.send(message)
    except flask_mail.BadHeaderError:
        raise ChannelError("the message has a line break in its subject or an address", transient=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()))
        raise ChannelError(f"the mail server refused the recipient: {_answer(code, answer)}", code < 500) from None
    except smtplib.SMTPDataError as exc:
        raise ChannelError(f"the mail server refused the message: {_answer(exc.smtp_code, exc.smtp_error)}",
                           exc.smtp_code < 500) from None
    except smtplib.SMTPResponseException as exc:
        raise ChannelError(f"the mail server answered {_answer(exc.smtp_code, exc.smtp_error)}") from None
    except smtplib.SMTPException as exc:
        raise ChannelError(f"the mail server failed: {exc}"[:300]) from None
    except OSError as exc:
        raise ChannelError(f"could not connect to the mail server: {exc.strerror or exc}"[:300]) from None


def _answer(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}"[:300]


def send_slack(url, text):
    """Post {"text": text} to a Slack-compatible incoming webhook."""
    _post(url, json.dumps({"text": text}).encode(), {})


def send_webhook(url, secret, payload, msg_id):
    """Post the JSON payload signed with the Standard Webhooks scheme (webhook-id, -timestamp, -signature)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        headers = signatures.sign("standard", body, secret, msg_id=msg_id)
    except ValueError:
        raise ChannelError("the signing secret is not a whsec_ secret", transient=False) from None
    _post(url, body, headers)


def new_webhook_secret():
    """A new whsec_ signing secret for a webhook destination."""
    return secrets.generate("standard")


def url_problem(url):
    """Why a destination URL may not be saved, or None. A host that does not resolve now is accepted."""
    try:
        _target(url.strip())
    except ChannelError as exc:
        return None if exc.transient else exc.reason
    return None


def _target(url):
    """The checked address to connect to for `url`; ChannelError (permanent unless it does not resolve)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ChannelError("the address must start with https:// or http://", transient=False)
    try:
        parts.port
    except ValueError:
        raise ChannelError("the address has an invalid port", transient=False) from None
    if not parts.hostname:
        raise ChannelError("the address has no host", transient=False)
    try:
        return addresses.check(url, bool(current_app.config.get("NOTIFY_ALLOW_PRIVATE_ADDRESSES", False)))
    except addresses.PrivateAddress:
        raise ChannelError(PRIVATE, transient=False) from None
    except addresses.Unresolvable:
        raise ChannelError("could not connect: the host name does not resolve") from None


def _post(url, body, headers):
    """POST a JSON body to the checked address; return on 2xx, else ChannelError."""
    url = url.strip()
    target, parts = _target(url), urlsplit(url)
    headers = {"Host": target.host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    with pinned_pool(target, Timeout(total=HTTP_TIMEOUT_SECONDS)) as pool:
        try:
            response = pool.request("POST", urlunsplit(("", "", parts.path or "/", parts.query, "")), body=body,
                                    headers=headers, redirect=False, preload_content=False)
        except HTTPError as exc:
            raise ChannelError(f"could not connect: {_network_reason(exc)}") from None
        response.close()
    status = response.status
    if 200 <= status < 300:
        return
    redirect = " (a redirect, not followed)" if 300 <= status < 400 else ""
    raise ChannelError(f"the destination answered {status}{redirect}", status == 429 or status >= 500)


def _network_reason(exc):
    """Plain words for a failed connection, without the host or path urllib3 puts in its messages."""
    if isinstance(exc, HTTPTimeout):
        return f"no answer within {HTTP_TIMEOUT_SECONDS} seconds"
    if isinstance(exc, SSLError):
        return "the TLS handshake or certificate check failed"
    if isinstance(exc, NewConnectionError):
        return getattr(exc.__cause__, "strerror", None) or "the connection failed"
    return "the connection was lost"
