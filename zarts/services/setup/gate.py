"""The onboarding gate: steps 1-5 must be done before a connection goes active, on evidence.

Only step 1 (account access, docs, auth model, scopes) is a person's word, recorded with who,
when and a note. The others are read from what exists: the secret or credential (2), received
event types the mapping covers (3), processed test data whose counts an admin reviewed (4), a
published metric with its client-safe explanation and next action (5). Step 6 is the watch after
launch. Every step says where it is done.
"""
from datetime import datetime

from sqlalchemy import func, select

from ...extensions import db
from ...models import CsvImport, MetricDefinition, SyncRun, WebhookEvent, utcnow
from ...providers import definition
from .. import DomainError, audit
from ..mapping import rules
from ..mapping.versions import effective_mapping
from .connections import CHECKLIST_STEPS, commit, new_checklist

GATE_STEPS = tuple(key for key, _ in CHECKLIST_STEPS[:5])
LABELS = dict(CHECKLIST_STEPS)
NUMBERS = {key: number for number, (key, _) in enumerate(CHECKLIST_STEPS, start=1)}
MAX_NOTE = 2000
REVIEW_KEYS = ("created", "updated", "unchanged", "failed", "duplicate", "ignored")


def secret_issuer(connection):
    """Who issues this connection's signing secret: "provider" (Stripe, Shopify: paste theirs) or
    "either" (zarts may generate it, or a sender's own may be pasted)."""
    return ((definition(connection.provider.key) or {}).get("secret") or {}).get("issued_by", "either")


def steps(connection):
    """The six steps in order, each a dict: number, key, label, done, gate, manual, evidence (what
    shows it done), missing (what is still needed), where (a place in the admin: "secret",
    "mapping", "test_event", "metrics", "sync_settings", "imports"), and who/when/note for step 1."""
    stored = connection.checklist or {}
    found = [_access(stored), _records(connection), _mapping(connection), _test_data(connection, stored),
             _client_story(connection), _watch(connection)]
    for number, ((key, label), step) in enumerate(zip(CHECKLIST_STEPS, found), start=1):
        step.update(number=number, key=key, label=label, gate=key in GATE_STEPS)
    return found


def missing(connection):
    """What keeps the connection from going active: "N. what is missing", for each open gate step."""
    return [f"{step['number']}. {step['missing']}" for step in steps(connection) if step["gate"] and not step["done"]]


def confirm_access(connection, actor, note):
    """Step 1, by hand: account access, provider docs, auth model and scopes checked; who, when and a note."""
    note = (note or "").strip()
    if not note:
        raise DomainError("say what you checked (account, docs, auth model, scopes): it is kept with the step")
    if len(note) > MAX_NOTE:
        raise DomainError(f"keep the note under {MAX_NOTE} characters")
    entry = {"done": True, "by": getattr(actor, "id", None), "by_name": getattr(actor, "display_name", None),
             "at": utcnow().isoformat(), "note": note}
    _store(connection, "access", entry)
    audit.record(actor, "checklist.access_confirmed", "connection", connection.id, note, None, {"step": "access"})
    commit()
    return entry


def reopen_access(connection, actor, reason=""):
    """Take step 1 back (e.g. the account changed hands); audited."""
    _store(connection, "access", {"done": False, "by": getattr(actor, "id", None),
                                  "by_name": getattr(actor, "display_name", None), "at": utcnow().isoformat()})
    audit.record(actor, "checklist.access_reopened", "connection", connection.id, reason or "", None,
                 {"step": "access"})
    commit()


def review_test_data(connection, actor):
    """Step 4: record that an admin reviewed the test counts as they stand now; refused while
    nothing has been processed yet or some is still pending."""
    counts = test_review(connection)
    processed = counts["total"] - counts["pending"]
    if connection.provider.kind in ("sync", "csv"):
        processed = processed or _checked_elsewhere(connection)
    if not processed:
        raise DomainError("nothing to review yet: send a test event (or run a test sync or a CSV dry run) first")
    if counts["pending"]:
        raise DomainError(f"{counts['pending']} test event(s) are still being processed: review once they are done")
    entry = {"done": True, "by": getattr(actor, "id", None), "by_name": getattr(actor, "display_name", None),
             "at": utcnow().isoformat(), "counts": {k: counts[k] for k in REVIEW_KEYS}}
    _store(connection, "test_event", entry)
    audit.record(actor, "checklist.test_data_reviewed", "connection", connection.id, "", None, entry["counts"])
    commit()
    return entry


def test_review(connection):
    """Counts of this connection's test deliveries by result: created, updated, unchanged, failed,
    duplicate, ignored, plus pending (not processed yet) and total. One grouped query.
    """
    rows = db.session.execute(
        select(WebhookEvent.status, WebhookEvent.outcome, func.count(),
                  func.coalesce(func.sum(WebhookEvent.duplicate_count), 0))
        .where(WebhookEvent.connection_id == connection.id, WebhookEvent.mode == "test")
        .group_by(WebhookEvent.status, WebhookEvent.outcome)
    )
    counts = dict.fromkeys((*REVIEW_KEYS, "pending", "total"), 0)
    for status, outcome, count, duplicates in rows:
        count = int(count)
        counts["total"] += count
        counts["duplicate"] += int(duplicates)
        if status == "normalized":
            # "stale" (older than the stored record) changed nothing either
            counts["created" if outcome == "created" else "updated" if outcome == "updated" else "unchanged"] += count
        elif status in ("retry_scheduled", "dead_lettered"):
            counts["failed"] += count
        elif status == "ignored":
            counts["ignored"] += count
        elif status in ("received", "queued", "processing"):
            counts["pending"] += count
    return counts


def _store(connection, key, entry):
    connection.checklist = {**new_checklist(), **(connection.checklist or {}), key: entry}  # a new dict: a change


def _by(entry):
    at = entry.get("at")
    return {"by_name": entry.get("by_name"), "at": datetime.fromisoformat(at) if at else None}


def _access(stored):
    entry = stored.get("access") or {}
    done = bool(entry.get("done") and entry.get("note"))
    return {"done": done, "manual": True, "where": "access", **_by(entry), "note": entry.get("note"),
            "evidence": "Confirmed" if done else None,
            "missing": "confirm account access, the provider's docs, its auth model and the scopes, with a note"}


def _records(connection):
    kind = connection.provider.kind
    if kind == "sync":
        done = connection.secret_source == "provider"
        return {"done": done, "manual": False, "where": "sync_settings",
                "evidence": "The source's credential is stored, encrypted" if done else None,
                "missing": "store the source's credential in the sync settings"}
    if kind == "csv":
        return {"done": True, "manual": False, "where": "imports",
                "evidence": "CSV files come in through imports; no secret is needed", "missing": None}
    if secret_issuer(connection) == "provider" and connection.secret_source != "provider":
        return {"done": False, "manual": False, "where": "secret", "evidence": None,
                "missing": f"paste the signing secret {connection.provider.name} issued for this endpoint"}
    source = "issued by the provider" if connection.secret_source == "provider" else "generated by zarts"
    return {"done": True, "manual": False, "where": "secret", "missing": None,
            "evidence": f"The connection exists; its signing secret ({source}) is stored, encrypted"}


def _mapping(connection):
    received = list(db.session.scalars(
        select(WebhookEvent.event_type).where(WebhookEvent.connection_id == connection.id,
                                              WebhookEvent.source != "manual")
        .group_by(WebhookEvent.event_type).limit(200)))
    mapping = effective_mapping(connection)
    covered = sorted(t for t in received if not rules.is_ignored(mapping, t) and rules.rule_for(mapping, t))
    done = bool(covered)
    shown = ", ".join(covered[:5]) + (f" and {len(covered) - 5} more" if len(covered) > 5 else "")
    return {"done": done, "manual": False, "where": "mapping", "covered": covered,
            "evidence": f"The mapping covers received event types: {shown}" if done else None,
            "missing": ("map at least one event type this connection has received" if received else
                        "receive an event (a test event will do) of a type the mapping covers")}


def _test_data(connection, stored):
    entry = stored.get("test_event") or {}
    counts = entry.get("counts")
    done = bool(entry.get("done") and counts is not None)
    evidence = None
    if done:
        evidence = "Reviewed: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in REVIEW_KEYS)
    return {"done": done, "manual": False, "where": "test_event", **_by(entry), "reviewed": counts,
            "evidence": evidence,
            "missing": "process test data (a test event, test sync or CSV dry run) and review its counts"}


def _client_story(connection):
    told = db.session.scalar(select(MetricDefinition).where(
        MetricDefinition.connection_id == connection.id, MetricDefinition.published.is_(True),
        MetricDefinition.client_meaning.is_not(None), MetricDefinition.next_action.is_not(None),
        (MetricDefinition.baseline_value.is_not(None)) | (MetricDefinition.baseline_mode == "previous_period"),
    ).order_by(MetricDefinition.id).limit(1))
    done = told is not None and bool((told.next_action or "").strip() and (told.client_meaning or "").strip())
    return {"done": done, "manual": False, "where": "metrics",
            "evidence": f"Published: “{told.name}”, with its baseline, meaning and next action" if done else None,
            "missing": "publish a metric fed by this connection with a baseline, a client meaning and a next action"}


def _watch(connection):
    live = connection.lifecycle in ("active", "paused")
    return {"done": live, "manual": False, "where": "watch", "missing": None,
            "evidence": f"Live: health is {connection.health}, portal {'visible' if connection.portal_visible else 'hidden'}"
            if live else "After launch: health, rate limits and portal visibility are watched here"}


def _checked_elsewhere(connection):
    """Test syncs that succeeded, or CSV files that went through a dry run: test data that stores nothing."""
    if connection.provider.kind == "sync":
        return db.session.scalar(select(func.count(SyncRun.id)).where(
            SyncRun.connection_id == connection.id, SyncRun.mode == "test", SyncRun.status == "succeeded")) or 0
    return db.session.scalar(select(func.count(CsvImport.id)).where(
        CsvImport.connection_id == connection.id, CsvImport.checked_at.is_not(None))) or 0
