"""The setup guide on a connection's page, from its provider's definition: where to add the
endpoint, which events to subscribe (the ones its mapping covers), where the provider shows the
secret and what to paste here, the scopes, the auth model and the docs."""
from ...providers import definition
from ..mapping.versions import effective_mapping

ANY_TYPE = "*"


def guide(connection, base_url):
    """A plain dict for the guide: kind, ingest_url (webhooks), steps, events, any_type, secret
    (issued_by, label, where, pasted), auth, scopes, docs_url."""
    shipped = definition(connection.provider.key) or {}
    mapping = effective_mapping(connection)
    ignored = set(mapping.get("event_types_ignored") or ())
    events = sorted(t for t in (mapping.get("events") or {}) if t != ANY_TYPE and t not in ignored)
    secret = {"issued_by": "either", **(shipped.get("secret") or {}), "pasted": connection.secret_source == "provider"}
    kind = connection.provider.kind
    return {
        "kind": kind,
        "ingest_url": base_url.rstrip("/") + connection.ingest_path if kind in ("webhook", "csv") else None,
        "steps": list((shipped.get("guide") or {}).get("steps") or ()),
        "events": events if kind == "webhook" else [],
        "any_type": ANY_TYPE in (mapping.get("events") or {}),
        "secret": secret,
        "auth": shipped.get("auth_notes") or "",
        "scopes": shipped.get("scopes_notes") or "",
        "docs_url": shipped.get("docs_url") or "",
    }
