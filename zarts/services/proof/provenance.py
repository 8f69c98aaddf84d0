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

    Bounded however much the period holds: at most LINES_SHOWN lines of each kind are read. A period
    that fits is counted and totalled from the database and its lines' own total (counted_total,
    which must equal it) is shown; a bigger one takes its total and count from the card's
    pre-aggregates when the card covers it (as of its last refresh), else from the database.
    """
    if metric.connection_id is None or not metric.period:
        raise DomainError("this metric has no source connection or period yet: nothing to explain")
    end = periods.shift(metric.period, start, 1)
    rows = _newest_values(metric, start, end)
    card = db.session.scalar(select(PortalCard).filter_by(metric_id=metric.id))
    as_of = None
    if len(rows) <= LINES_SHOWN:
        total, n_values = outcomes.aggregate(metric, start, end), len(rows)
    else:
        pre = _from_card(card, metric, start)
        total, n_values, as_of = pre if pre else (*outcomes.aggregate_and_count(metric, start, end), None)
    lines = _lines(rows[:LINES_SHOWN])
    counted, earlier = (lines[:1], lines[1:]) if metric.aggregation == "last" else (lines, [])
    for line in earlier:
        line.reason = "an earlier value in the period: the card shows the last one"
    counted_count = min(n_values, 1) if metric.aggregation == "last" else n_values
    left_out, more_deliveries = _left_out(metric, start, end)
    current = card is not None and card.value_updated_at is not None and \
        periods.period_start(metric.period, card.value_updated_at) == start
    return {
        "metric": {"id": metric.id, "name": metric.name, "metric_name": metric.metric_name,
                   "aggregation": metric.aggregation, "period": metric.period, "unit": metric.unit,
                   "connection_id": metric.connection_id},
        "period": {"label": periods.label(metric.period, start), "start": start, "end": end},
        "total": total, "totals_as_of": as_of, "card_value": card.current_value if current else None,
        "counted_total": _aggregate(metric.aggregation, [line.value for line in reversed(counted)])
        if len(counted) == counted_count else None,  # only when every counted line is here
        "counted_count": counted_count, "counted": counted,
        "excluded_count": n_values - counted_count + len(left_out),
        "excluded": (earlier + left_out)[:LINES_SHOWN], "more_deliveries": more_deliveries,
        "lines_shown": LINES_SHOWN,
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


def _newest_values(metric, start, end):
    """The period's values, newest first, at most LINES_SHOWN + 1 (one more tells there are more)."""
    values, records = MetricValue.__table__.c, NormalizedEvent.__table__.c
    return db.session.execute(
        select(values.value, values.occurred_at, records.id, records.source, records.object_type, records.external_id)
        .join(NormalizedEvent.__table__, records.id == values.normalized_event_id)
        .where(_values_in(metric, start, end)).order_by(values.occurred_at.desc(), values.id.desc())
        .limit(LINES_SHOWN + 1)
    ).all()


def _lines(rows):
    events = _latest_events([row.id for row in rows])
    return [Line(events.get(row.id), row.id, row.source, row.object_type, row.external_id, row.occurred_at,
                 row.value) for row in rows]


def _from_card(card, metric, start):
    """(total, count, as of) for the period from the card's last refresh, if its trend covers it."""
    if card is None or card.value_updated_at is None or not card.trend_counts:
        return None
    current = periods.period_start(metric.period, card.value_updated_at)
    for back in range(len(card.trend_counts)):
        if periods.shift(metric.period, current, -back) == start:
            index = len(card.trend_counts) - 1 - back
            value = card.trend[index] if index < len(card.trend or []) else None
            total = card.current_value if back == 0 else (None if value is None else Decimal(str(value)))
            return total, card.trend_counts[index], card.value_updated_at
    return None


def _left_out(metric, start, end):
    """(lines, whether the period has more deliveries than were read): of the period's newest
    LINES_SHOWN deliveries, those that added nothing to this metric, each with why."""
    events = WebhookEvent.__table__.c
    records = NormalizedEvent.__table__.c
    window = (events.connection_id == metric.connection_id) & (events.received_at >= start) & (events.received_at < end)
    rows = db.session.execute(
        select(events.id, events.source, events.status, events.status_reason, events.outcome, events.mode,
               events.duplicate_count, events.event_type, events.normalized_event_id,
               records.object_type, records.external_id, records.occurred_at)
        .outerjoin(NormalizedEvent.__table__, records.id == events.normalized_event_id)
        .where(window).order_by(events.received_at.desc(), events.id.desc()).limit(LINES_SHOWN + 1)
    ).all()
    more, rows = len(rows) > LINES_SHOWN, rows[:LINES_SHOWN]
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
    return lines, more


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
