"""What published metrics become: portal cards (pre-aggregated), threshold tasks, incidents."""
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...models import AdminTask, Connection, Incident, MetricDefinition, MetricValue, PortalCard, utcnow
from . import periods

TREND_PERIODS = 8
SUCCESS_SLACK = timedelta(seconds=2)
STATUS_WORDS = {"on_track": "On track", "watch": "Watch", "needs_action": "Needs action", "pending": "Waiting for data",
                "no_target": "No target set"}


def aggregate(metric, start, end):
    """The metric's value over [start, end) from normalized metric values; None without data."""
    return aggregate_and_count(metric, start, end)[0]


def aggregate_and_count(metric, start, end):
    """(the metric's value over [start, end), how many values it is made of); (None, 0) without data."""
    values = MetricValue.__table__.c
    scope = (
        (values.connection_id == metric.connection_id) & (values.name == metric.metric_name)
        & (values.occurred_at >= start) & (values.occurred_at < end)
    )
    if metric.aggregation == "last":
        query = select(values.value).where(scope).order_by(values.occurred_at.desc(), values.id.desc()).limit(1)
        value = db.session.scalar(query)
        return value, (db.session.scalar(select(func.count(values.id)).where(scope)) if value is not None else 0)
    func_for = {"sum": func.sum(values.value), "count": func.count(values.id), "avg": func.avg(values.value)}
    value, count = db.session.execute(select(func_for[metric.aggregation], func.count(values.id)).where(scope)).one()
    if metric.aggregation == "count":
        return (Decimal(value) if value else None), count
    return (None if value is None else Decimal(value).quantize(Decimal("0.0001"))), count


def status_for(metric, current, baseline):
    """on_track / watch / needs_action by thresholds (or target, or baseline); pending without data;
    no_target when there is nothing to judge the value against (a card never says "On track" then)."""
    if current is None:
        return "pending"
    if all(v is None for v in (metric.action_threshold, metric.watch_threshold, metric.target_value, baseline)):
        return "no_target"
    better = (lambda a, b: a >= b) if metric.direction != "lower" else (lambda a, b: a <= b)
    if metric.action_threshold is not None and not better(current, metric.action_threshold):
        return "needs_action"
    if metric.watch_threshold is not None and not better(current, metric.watch_threshold):
        return "watch"
    if metric.watch_threshold is None and metric.action_threshold is None:
        reference = metric.target_value if metric.target_value is not None else baseline
        if reference is not None and not better(current, reference):
            return "watch"
    return "on_track"


def refresh_card(metric, now=None):
    """Recompute a published metric's card: current value, baseline, trend, status, tasks."""
    now = now or utcnow()
    card = db.session.scalar(select(PortalCard).filter_by(metric_id=metric.id))
    if card is None:
        card = PortalCard(client_id=metric.client_id, metric_id=metric.id, title=metric.name, trend=[])
        db.session.add(card)
    start = periods.period_start(metric.period, now)
    values, counts = [], []  # oldest first; the last is the current period
    for back in range(TREND_PERIODS - 1, -1, -1):
        begin = periods.shift(metric.period, start, -back)
        value, count = aggregate_and_count(metric, begin, periods.shift(metric.period, begin, 1))
        values.append(value)
        counts.append(count)
    current = values[-1]
    baseline = values[-2] if metric.baseline_mode == "previous_period" else metric.baseline_value
    trend = [float(v) if v is not None else None for v in values]
    old_status = card.status
    if current is not None and (card.value_changed_at is None or current != card.current_value):
        card.value_changed_at = now  # whatever brought the value: webhook, sync, CSV or a manual update
    card.title, card.current_value, card.baseline_value, card.trend = metric.name, current, baseline, trend
    card.trend_counts = counts
    card.status = status_for(metric, current, baseline)
    card.value_updated_at = now
    _threshold_task(metric, old_status, card.status, current, now)
    return card


def refresh_for(connection_ids, now=None):
    """Refresh the published metrics fed by these connections (after a normalization batch).

    A card recomputed less than CARD_REFRESH_SECONDS ago is left for refresh_due(): on a busy
    connection the aggregates (which grow with its history) run a few times a minute, not per batch.
    """
    if not connection_ids:
        return 0
    now = now or utcnow()
    wait = current_app.config.get("CARD_REFRESH_SECONDS", 0)
    rows = db.session.execute(
        select(MetricDefinition, PortalCard.value_updated_at, PortalCard.current_value)
        .outerjoin(PortalCard, PortalCard.metric_id == MetricDefinition.id)
        .where(MetricDefinition.connection_id.in_(list(connection_ids)), MetricDefinition.published.is_(True))
    ).all()
    refreshed = 0
    for metric, updated_at, value in rows:
        # A card's first value is shown at once; after that a busy source refreshes it at most every `wait` s.
        if wait and value is not None and updated_at is not None and (now - updated_at).total_seconds() < wait:
            continue
        refresh_card(metric, now)
        refreshed += 1
    return refreshed


def refresh_due(now=None):
    """Recompute the cards whose source has succeeded since they were computed (run periodically).

    last_success_at is written at most once a second per connection, so a success up to
    SUCCESS_SLACK before the card's time may still be missing from it: those are redone once more.
    """
    now = now or utcnow()
    rows = db.session.execute(
        select(MetricDefinition, PortalCard.value_updated_at, Connection.last_success_at)
        .join(PortalCard, PortalCard.metric_id == MetricDefinition.id)
        .join(Connection, Connection.id == MetricDefinition.connection_id)
        .where(MetricDefinition.published.is_(True), Connection.last_success_at.is_not(None))
    ).all()
    due = [m for m, computed, success in rows if computed is None or success > computed - SUCCESS_SLACK]
    for metric in due:
        refresh_card(metric, now)
    return len(due)


def _threshold_task(metric, old_status, new_status, current, now):
    """A metric that falls to needs_action opens a task for the owner; recovery closes it."""
    open_key = f"metric:{metric.id}"
    task = db.session.scalar(select(AdminTask).filter_by(open_key=open_key))
    if new_status == "needs_action" and task is None and metric.connection is not None:
        db.session.add(AdminTask(
            connection_id=metric.connection_id, assignee_id=metric.connection.owner_id, kind="metric_threshold",
            open_key=open_key, status="open", created_at=now,
            title=f"{metric.name} needs action for {metric.client.name}",
            detail=f"Current value {current} crossed the action threshold {metric.action_threshold}.",
        ))
    elif new_status in ("on_track", "no_target") and task is not None:
        task.status, task.open_key, task.resolved_at = "resolved", None, now
        task.detail += " Recovered on its own."


def sync_incident(connection, now=None):
    """Open one incident while a connection's data is delayed for its client; resolve it when that ends.

    Health alone (e.g. a storm of rejected, maybe forged, deliveries) is the admin's business.
    """
    now = now or utcnow()
    incident = db.session.scalar(select(Incident).filter_by(open_key=connection.id))
    if connection.data_delayed and connection.health in ("error", "stale"):
        if incident is None:
            incident = Incident(
                connection_id=connection.id, client_id=connection.client_id, health=connection.health,
                reason=connection.health_reason, open_key=connection.id, opened_at=now, status="open",
                client_summary=f"Updates from {connection.provider.name} are delayed. We are on it.",
            )
            db.session.add(incident)
        else:
            incident.health, incident.reason = connection.health, connection.health_reason
        return incident
    if incident is not None:
        incident.status, incident.open_key, incident.resolved_at = "resolved", None, now
        incident.details = {**(incident.details or {}), "resolution": "recovered"}
    return incident
