"""The health check: gather each connection's recent signals, apply the rules, record changes.

Run on a schedule (the periodic loop) and after each normalization batch. Draft and testing
connections are checked (a wrong secret during onboarding shows at once) but raise no incident
and no task: nothing of theirs is live. Paused connections are not checked: an admin stopped
them on purpose, and their health stays as it was until they resume. Disconnected ones are not
checked either; an incident or health task still open for one is closed ("disconnected").
"""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    OPEN_SYNC_STATUSES,
    AdminAction,
    AdminTask,
    Client,
    Connection,
    HealthChange,
    Incident,
    NormalizedEvent,
    Provider,
    SyncError,
    SyncRun,
    WebhookEvent,
    utcnow,
)
from ..mapping import drift
from ..notify import alerts
from ..proof import outcomes
from . import rules, signals

CHECKED = ("draft", "testing", "active")
ALERTING = ("active",)
BAD = ("error", "stale")
CHUNK = 500
LIVE_ACTIONS = ("connection.activate", "connection.resume")

UNINSTALLED = "uninstalled"  # a record status meaning the provider side went away (mapped from app/uninstalled)


@dataclass
class Verdict:
    """One connection's recomputed health."""

    connection_id: int
    health: str
    reason: str
    previous: str
    last_event_at: object = None
    delayed: bool = False  # what clients are told (rules.data_delayed)

    @property
    def changed(self):
        return self.health != self.previous


def check(connection_ids=None, now=None):
    """Recompute health for these connections (every checked one when None); returns [Verdict]. Commits."""
    now = now or utcnow()
    table = Connection.__table__.c
    query = select(table.id).where(table.lifecycle.in_(CHECKED)).order_by(table.id)
    if connection_ids is not None:
        query = query.where(table.id.in_(list(connection_ids)))
    ids = list(db.session.scalars(query))
    verdicts = []
    for start in range(0, len(ids), CHUNK):
        verdicts += _check_chunk(ids[start:start + CHUNK], now)
    _close_disconnected(connection_ids, now)
    db.session.commit()
    return verdicts


def after_batch(healths, had_failures):
    """After a normalization batch: check its connections that are unwell, or all when some failed.

    healths: {connection_id: health before the batch}. Never raises: the batch is already committed.
    """
    ids = [cid for cid, health in healths.items() if had_failures or health != "healthy"]
    if not ids:
        return []
    try:
        return check(ids)
    except Exception:  # health is recomputed by the periodic check anyway
        db.session.rollback()
        current_app.logger.exception("health check after a batch failed")
        return []


def periodic(now=None):
    """The scheduled round: check every connection, then drop old signal counters. Commits."""
    verdicts = check(now=now)
    signals.prune(now)
    db.session.commit()
    return verdicts


def _check_chunk(ids, now):
    connections = {c.id: c for c in db.session.scalars(select(Connection).where(Connection.id.in_(ids))
                                                       .options(selectinload(Connection.provider)))}
    limits = {cid: rules.thresholds(c.health_thresholds) for cid, c in connections.items()}
    stats = _gather(connections, limits, now)
    incidents = set(db.session.scalars(select(Incident.open_key).where(Incident.open_key.in_(ids))))
    tasks = {int(key.split(":", 1)[1]) for key in db.session.scalars(
        select(AdminTask.open_key).where(AdminTask.open_key.in_([_task_key(cid) for cid in ids])))}
    verdicts, writes = [], []
    for cid, connection in connections.items():
        health, reason = rules.evaluate(stats[cid], limits[cid], now)
        delayed = rules.data_delayed(stats[cid], limits[cid], now)
        verdict = Verdict(cid, health, reason, connection.health, stats[cid].last_event_at, delayed)
        verdicts.append(verdict)
        alerting = connection.lifecycle in ALERTING and health in BAD
        newer = verdict.last_event_at and (connection.last_event_at is None
                                          or verdict.last_event_at > connection.last_event_at)
        if (verdict.changed or reason != connection.health_reason or newer or delayed != connection.data_delayed
                or (connection.lifecycle in ALERTING and alerting != (cid in incidents))
                or (health not in BAD and cid in tasks)):
            writes.append(verdict)
    db.session.commit()  # end the read: each write below locks its connection in its own transaction
    for verdict in writes:
        _write(verdict, now)
    return sorted(verdicts, key=lambda v: v.connection_id)


def _write(verdict, now):
    """Store one verdict under a row lock, so concurrent checks record each change once."""
    table = Connection.__table__
    row = db.session.execute(select(table.c.health, table.c.last_event_at, table.c.lifecycle, table.c.health_changed_at)
                             .where(table.c.id == verdict.connection_id).with_for_update()).first()
    if row is None:
        db.session.rollback()
        return
    values = {"health": verdict.health, "health_reason": verdict.reason, "data_delayed": verdict.delayed,
              "updated_at": table.c.updated_at}
    if verdict.health != row.health:
        db.session.add(HealthChange(connection_id=verdict.connection_id, from_health=row.health,
                                    to_health=verdict.health, reason=verdict.reason, created_at=now))
        values["health_changed_at"] = now
        verdict.previous = row.health
    if verdict.last_event_at and (row.last_event_at is None or verdict.last_event_at > row.last_event_at):
        values["last_event_at"] = verdict.last_event_at
    db.session.execute(update(table).where(table.c.id == verdict.connection_id).values(**values))
    connection = db.session.get(Connection, verdict.connection_id, populate_existing=True)
    if verdict.health != row.health:  # in this transaction: the alert exists exactly when the change does
        alerts.health_changed(connection, row.health, verdict.health, row.health_changed_at, now)
    if row.lifecycle in ALERTING:
        _sync_alerts(connection, now)
    elif connection.health not in BAD:
        _resolve_task(connection.id, now, "Recovered on its own.")
    db.session.commit()


def _sync_alerts(connection, now):
    """One incident and one owner task while error/stale; both resolve themselves on recovery."""
    had_incident = db.session.scalar(select(Incident.id).where(Incident.open_key == connection.id)) is not None
    outcomes.sync_incident(connection, now)
    if connection.health not in BAD:
        _resolve_task(connection.id, now, f"Recovered on its own: {connection.health_reason}")
        return
    task = db.session.scalar(select(AdminTask).where(AdminTask.open_key == _task_key(connection.id)))
    title = f"{connection.name} is {connection.health}"[:255]
    if task is None and not had_incident:
        db.session.add(AdminTask(
            connection_id=connection.id, assignee_id=connection.owner_id, kind="health", status="open",
            open_key=_task_key(connection.id), created_at=now, title=title, detail=connection.health_reason))
    elif task is not None:
        task.title, task.detail = title, connection.health_reason


def _resolve_task(connection_id, now, note):
    task = db.session.scalar(select(AdminTask).where(AdminTask.open_key == _task_key(connection_id)))
    if task is not None:
        task.status, task.open_key, task.resolved_at = "resolved", None, now
        task.detail = f"{task.detail} {note}"[:5000]


def _close_disconnected(connection_ids, now):
    """Close incidents and health tasks left open on disconnected connections."""
    query = select(Incident).join(Connection, Incident.connection_id == Connection.id).where(
        Incident.status == "open", Connection.lifecycle == "disconnected")
    if connection_ids is not None:
        query = query.where(Connection.id.in_(list(connection_ids)))
    for incident in db.session.scalars(query):
        incident.status, incident.open_key, incident.resolved_at = "resolved", None, now
        incident.details = {**(incident.details or {}), "resolution": "disconnected"}
        _resolve_task(incident.connection_id, now, "Closed: the connection was disconnected.")


def _task_key(connection_id):
    return f"health:{connection_id}"


def _gather(connections, limits, now):
    """Stats for each connection, from a fixed number of grouped queries (not one per connection)."""
    ids = list(connections)
    stats = {cid: rules.Stats(
        lifecycle=c.lifecycle, kind=c.provider.kind, cadence=c.expected_cadence_seconds, last_event_at=c.last_event_at,
        last_success_at=c.last_success_at, live_since=c.created_at, last_rejection_reason=c.last_rejection_reason,
    ) for cid, c in connections.items()}
    events = WebhookEvent.__table__.c
    # Only events newer than what is already known: an index range per connection, not a full scan.
    newer = or_(*(and_(events.connection_id == cid, events.received_at > c.last_event_at)
                  if c.last_event_at else events.connection_id == cid for cid, c in connections.items()))
    for cid, latest in db.session.execute(select(events.connection_id, func.max(events.received_at))
                                          .where(newer, events.source != "manual", events.mode == "live")
                                          .group_by(events.connection_id)):
        stats[cid].last_event_at = latest
    for cid, count in _windowed(limits, "dead_letter_window_seconds", now, lambda ids_, since: select(
            events.connection_id, func.count()).where(events.connection_id.in_(ids_), events.status == "dead_lettered",
                                                      events.received_at >= since).group_by(events.connection_id)):
        stats[cid].dead_letters = count
    for cid, count in db.session.execute(select(events.connection_id, func.count()).where(
            events.connection_id.in_(ids), events.status == "retry_scheduled").group_by(events.connection_id)):
        stats[cid].retrying = count
    errors = SyncError.__table__.c
    for cid, count in _windowed(limits, "window_seconds", now, lambda ids_, since: select(
            errors.connection_id, func.count()).where(errors.connection_id.in_(ids_), errors.created_at >= since)
            .group_by(errors.connection_id)):
        stats[cid].failures = count
    longest = max(max(lim["window_seconds"], lim["auth_window_seconds"]) for lim in limits.values())
    for cid, rows in signals.recent(ids, now - timedelta(seconds=longest)).items():
        stats[cid].signals = rows
    _live_since(stats, [cid for cid, c in connections.items() if c.lifecycle == "active"])
    records = NormalizedEvent.__table__.c
    for cid, moment in db.session.execute(select(records.connection_id, func.max(records.updated_at)).where(
            records.connection_id.in_(ids), records.mode == "live", records.status == UNINSTALLED)
            .group_by(records.connection_id)):
        stats[cid].uninstalled_at = moment
    for cid, summaries in drift.health_reasons(ids).items():
        stats[cid].drift = summaries
    _sync_errors(stats, ids)
    return stats


def _windowed(limits, key, now, make_query):
    """Run make_query(ids, since) once per distinct window among the connections; yields its rows."""
    groups = {}
    for cid, lim in limits.items():
        groups.setdefault(lim[key], []).append(cid)
    for seconds, ids in groups.items():
        yield from db.session.execute(make_query(ids, now - timedelta(seconds=seconds)))


def _live_since(stats, active_ids):
    """When each active connection last went live (activation or resume, from the audit trail)."""
    if not active_ids:
        return
    actions = AdminAction.__table__.c
    query = (select(actions.target_id, func.max(actions.created_at))
             .where(actions.target_type == "connection", actions.target_id.in_([str(i) for i in active_ids]),
                    actions.action.in_(LIVE_ACTIONS)).group_by(actions.target_id))
    for target_id, moment in db.session.execute(query):
        if moment is not None:
            stats[int(target_id)].live_since = moment


def _sync_errors(stats, ids):
    """The last finished (not test) sync run of each sync connection, when it did not succeed."""
    runs = SyncRun.__table__.c
    latest = (select(func.max(runs.id)).join(Connection, Connection.id == runs.connection_id)
              .join(Provider, Provider.id == Connection.provider_id)
              .where(runs.connection_id.in_(ids), Provider.kind == "sync", runs.mode != "test",
                     runs.status.not_in(OPEN_SYNC_STATUSES)).group_by(runs.connection_id))
    query = select(runs.connection_id, runs.status, runs.error_kind, runs.error).where(runs.id.in_(latest))
    for cid, status, kind, error in db.session.execute(query):
        if status in ("failed", "abandoned") and kind != "skipped":
            stats[cid].sync_error = (kind or "http", error or status)


def report(verdicts=()):
    """Every connection's health as plain dicts (the CLI), noting which just changed and from what."""
    changed = {v.connection_id: v.previous for v in verdicts if v.changed}
    rows = db.session.execute(
        select(Connection, Client.slug, Provider.key).join(Client, Client.id == Connection.client_id)
        .join(Provider, Provider.id == Connection.provider_id).order_by(Connection.id))
    return [{
        "id": c.id, "name": c.name, "client": slug, "provider": key, "lifecycle": c.lifecycle,
        "health": c.health, "reason": c.health_reason, "health_changed_at": c.health_changed_at,
        "checked": c.lifecycle in CHECKED, "changed_from": changed.get(c.id),
    } for c, slug, key in rows]
