"""Why a card's number is what it is: the records counted for one period, and those left out, with why.

The counted lines are the metric values the card's aggregate reads (so their total is the card's
value, by the same rule); the left-out lines are the connection's deliveries received in the period
that did not count: test data, superseded versions, ignored types, failures, repeats, and records
that happened outside the period. Admin-facing: ids and event links, never a raw value.
"""
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import func, or_, select

from ...extensions import db
from ...models import MetricValue, NormalizedEvent, PortalCard, WebhookEvent, utcnow
from .. import DomainError
from . import outcomes, periods

LINES_SHOWN = 500  # lines read per list, newest first; the counts and the total cover the whole period


@dataclass
class Line:
    """One record or delivery of the period, as the drill-down lists it."""

    event_id: int | None
    record_id: int | None
    source: str
    object_type: str
    external_id: str
    occurred_at: datetime | None
    value: Decimal | None = None
    reason: str = ""


def parse_period(metric, text):
    """The start of the metric's period holding `text` (YYYY-MM, YYYY-MM-DD), or the current one."""
    if not text:
        return periods.period_start(metric.period, utcnow())
    for fmt in ("%Y-%m-%d", "%Y-%m"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return periods.period_start(metric.period, moment.replace(tzinfo=timezone.utc))
    raise DomainError(f"period must be YYYY-MM or YYYY-MM-DD, got {text!r}")


def explain(metric, start):
    """The provenance of the metric's value for the period starting at `start` (see the module).

    Bounded however much the period holds: at most LINES_SHOWN lines of each kind are read; the
    counts and the total come from the database. When every counted line is shown, counted_total is
    their own sum (or count, average, last), which must equal the card's value.
    """
    if metric.connection_id is None or not metric.period:
        raise DomainError("this metric has no source connection or period yet: nothing to explain")
    end = periods.shift(metric.period, start, 1)
    in_period = _values_in(metric, start, end)
    n_values = db.session.scalar(select(func.count()).select_from(MetricValue.__table__).where(in_period))
    counted, earlier = _counted(metric, in_period)
    left_out, examined, n_events = _left_out(metric, start, end)
    total = outcomes.aggregate(metric, start, end)
    card = db.session.scalar(select(PortalCard).filter_by(metric_id=metric.id))
    current = card is not None and card.value_updated_at is not None and \
        periods.period_start(metric.period, card.value_updated_at) == start
    counted_count = min(n_values, 1) if metric.aggregation == "last" else n_values
    return {
        "metric": {"id": metric.id, "name": metric.name, "metric_name": metric.metric_name,
                   "aggregation": metric.aggregation, "period": metric.period, "unit": metric.unit,
                   "connection_id": metric.connection_id},
        "period": {"label": periods.label(metric.period, start), "start": start, "end": end},
        "total": total, "card_value": card.current_value if current else None,
        "counted_total": _aggregate(metric.aggregation, [line.value for line in counted])
        if len(counted) == counted_count else None,  # only when every counted line is here
        "counted_count": counted_count, "counted": counted,
        "excluded_count": (n_values - counted_count if metric.aggregation == "last" else 0) + len(left_out),
        "excluded": (earlier + left_out)[:LINES_SHOWN],
        "deliveries_in_period": n_events, "deliveries_examined": examined, "lines_shown": LINES_SHOWN,
    }


def as_json(explanation):
    """The explanation with plain JSON values (for the CLI)."""
    def plain(value):
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Line):
            return {k: plain(v) for k, v in asdict(value).items()}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    return plain(explanation)


def _values_in(metric, start, end):
    values = MetricValue.__table__.c
    return (values.connection_id == metric.connection_id) & (values.name == metric.metric_name) \
        & (values.occurred_at >= start) & (values.occurred_at < end)


def _counted(metric, in_period):
    """(counted lines, earlier values a 'last' passes over), newest first, at most LINES_SHOWN of each:
    the values outcomes.aggregate reads."""
    values, records = MetricValue.__table__.c, NormalizedEvent.__table__.c
    rows = db.session.execute(
        select(values.value, values.occurred_at, records.id, records.source, records.object_type, records.external_id)
        .join(NormalizedEvent.__table__, records.id == values.normalized_event_id)
        .where(in_period).order_by(values.occurred_at.desc(), values.id.desc()).limit(LINES_SHOWN + 1)
    ).all()
    events = _latest_events([row.id for row in rows])
    lines = [Line(events.get(row.id), row.id, row.source, row.object_type, row.external_id, row.occurred_at,
                  row.value) for row in rows]
    if metric.aggregation == "last":
        for line in lines[1:]:
            line.reason = "an earlier value in the period: the card shows the last one"
        return lines[:1], lines[1:LINES_SHOWN + 1]
    return lines[:LINES_SHOWN], []


def _left_out(metric, start, end):
    """(lines, deliveries examined, deliveries in the period): the period's newest deliveries, at most
    LINES_SHOWN, that added nothing to this metric, each with why."""
    events = WebhookEvent.__table__.c
    records = NormalizedEvent.__table__.c
    window = (events.connection_id == metric.connection_id) & (events.received_at >= start) & (events.received_at < end)
    total = db.session.scalar(select(func.count()).select_from(WebhookEvent.__table__).where(window))
    rows = db.session.execute(
        select(events.id, events.source, events.status, events.status_reason, events.outcome, events.mode,
               events.duplicate_count, events.event_type, events.normalized_event_id,
               records.object_type, records.external_id, records.occurred_at)
        .outerjoin(NormalizedEvent.__table__, records.id == events.normalized_event_id)
        .where(window).order_by(events.received_at.desc(), events.id.desc()).limit(LINES_SHOWN)
    ).all()
    record_ids = [row.normalized_event_id for row in rows if row.normalized_event_id]
    counted_records = set(db.session.scalars(
        select(MetricValue.normalized_event_id).where(
            MetricValue.normalized_event_id.in_(record_ids), _values_in(metric, start, end)))) if record_ids else set()
    lines = []
    for row in rows:
        reason = _why_not(row, start, end, counted_records)
        if reason:
            lines.append(Line(row.id, row.normalized_event_id, row.source, row.object_type or "",
                              row.external_id or "", row.occurred_at, None, reason))
        if row.duplicate_count:
            lines.append(Line(row.id, row.normalized_event_id, row.source, row.object_type or "",
                              row.external_id or "", row.occurred_at, None,
                              f"{row.duplicate_count} repeated deliver{'y' if row.duplicate_count == 1 else 'ies'} "
                              "of this event: counted once"))
    return lines, len(rows), total


def _why_not(row, start, end, counted_records):
    if row.mode == "test":
        return "test data: never counted on a client's card"
    if row.status == "ignored":
        return f"ignored: {row.status_reason or 'the mapping has no rule for this event type'}"
    if row.status in ("dead_lettered", "retry_scheduled"):
        return f"failed, not counted until fixed: {row.status_reason or row.status}"
    if row.status == "resolved_manually":
        return "resolved by hand by an admin"
    if row.status in ("received", "queued", "processing"):
        return "still being processed"
    if row.outcome == "stale":
        return "superseded: a newer version of this object was already recorded"
    if row.normalized_event_id in counted_records:
        return ""
    if row.occurred_at is not None and not (start <= _aware(row.occurred_at) < end):
        return f"happened outside the period ({_aware(row.occurred_at):%Y-%m-%d})"
    return "its record carries no value for this metric"


def _latest_events(record_ids):
    """{record id: the newest delivery that normalized it}."""
    if not record_ids:
        return {}
    events = WebhookEvent.__table__.c
    found = {}
    for chunk in range(0, len(record_ids), 1000):
        part = record_ids[chunk:chunk + 1000]
        found.update(db.session.execute(
            select(events.normalized_event_id, func.max(events.id))
            .where(events.normalized_event_id.in_(part), events.status == "normalized",
                   or_(events.outcome.is_(None), events.outcome != "stale"))
            .group_by(events.normalized_event_id)).all())
    return found


def _aggregate(aggregation, values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    if aggregation == "count":
        return Decimal(len(values))
    if aggregation == "avg":
        return (sum(values) / len(values)).quantize(Decimal("0.0001"))
    if aggregation == "last":
        return values[-1]
    return sum(values)


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
