"""Real provider payloads, read from ../shared/realworld at test time (never copied into the project),
and sent to a connection's endpoint signed as the provider signs them."""
import json
import uuid
from pathlib import Path

import pytest

from tests.factories import drain, make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
ABSENT = "../shared/realworld is absent: the real provider payloads are read from there"


def names():
    """Every fixture as "provider/name" (its body is name.json, its sidecar name.meta.json); [] when absent."""
    return sorted(f"{meta.parent.name}/{meta.name.removesuffix('.meta.json')}"
                  for meta in REALWORLD.glob("*/*.meta.json"))


def load(name):
    """(meta, body bytes as sent): the sidecar's send_substitutions applied byte for byte."""
    if not REALWORLD.is_dir():
        pytest.skip(ABSENT)
    meta = json.loads((REALWORLD / f"{name}.meta.json").read_text())
    body = (REALWORLD / f"{name}.json").read_bytes()
    for old, new in meta.get("send_substitutions", []):
        body = body.replace(old.encode(), new.encode())
    return meta, body


def payload(name):
    """The fixture's payload as sent, parsed (for a test to change before sending it again)."""
    return json.loads(load(name)[1])


def live_connection(provider_key):
    """A connection that is live (active): what it receives counts."""
    connection, secret = make_connection(provider_key)
    connection.lifecycle = "active"
    db.session.commit()
    return connection, secret


def send(client, connection, secret, name, body=None, msg_id=None, event_id=None):
    """POST a fixture (or a changed body of it) signed with the provider's scheme; the stored event.

    Sending one fixture twice to one connection needs a new delivery id (msg_id) or, for Stripe,
    whose dedupe key is the payload's event id, a new event id of the same length (event_id).
    """
    meta, real = load(name)
    body = real if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    if event_id is not None:
        body = body.replace(json.loads(body)["id"].encode(), event_id.encode())
    msg_id = msg_id or meta.get("webhook_id") or f"msg_{uuid.uuid4().hex}"
    body, headers = signed_delivery(connection.provider.key, secret, meta["event_type"], body, msg_id)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    drain()
    db.session.expire_all()
    return db.session.get(WebhookEvent, response.get_json()["event_id"])
