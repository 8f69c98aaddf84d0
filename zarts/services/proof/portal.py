"""Read models for the client portal: only normalized data and admin-written text, one client's only."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ... import providers
from ...extensions import db
from ...models import Connection, Incident, MetricDefinition, PortalCard, ReportNote, utcnow
from ...templating import time_ago
from .. import DomainError
from . import outcomes, periods, provenance

NOTES_SHOWN = 20
PORTAL_LIFECYCLES = ("active", "paused")
STATUS_LABELS = {"on_track": "On track", "watch": "Watch", "needs_action": "Needs action", "no_target": "No target set"}
MANUAL_SOURCE = "Entered by your ZartsAlgo team"
NO_DATA = "No data yet"


@dataclass
class CardView:
    """Everything a client card shows, in plain words."""

    card: PortalCard
    metric: MetricDefinition
    source: str
    period_label: str
    change: Decimal | None
    change_pct: Decimal | None
    freshness: str
    freshness_tone: str

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.card.status, "Waiting for data")


def freshness(connection, value_changed_at=None):
    """('Up to date, updated 3 h ago', 'ok') or ('Data delayed since ...', 'late'): never internals.

    "Updated" is the newest of the connection's last success and the card value's last change, so
    a manual update or a CSV import counts as much as a webhook.
    """
    if connection is None:
        return (f"{MANUAL_SOURCE}, updated {time_ago(value_changed_at)}" if value_changed_at else MANUAL_SOURCE), "ok"
    last = connection.last_success_at
    if connection.data_delayed:
        since = last.strftime("%b %d, %H:%M UTC") if last else "setup"
        return f"Data delayed since {since}", "late"
    last = max((t for t in (last, value_changed_at) if t is not None), default=None)
    if last is None:
        return "Waiting for the first update", "wait"
    return f"Up to date, updated {time_ago(last)}", "ok"


def source_name(metric):
    """The card's source in the client's words: the admin's name for it, else the provider's plain name."""
    if metric.source_name:
        return metric.source_name
    if metric.connection is None:
        return MANUAL_SOURCE
    shipped = providers.definition(metric.connection.provider.key) or {}
    return shipped.get("plain_name") or metric.connection.provider.name


def card_views(client_id, card_id=None):
    """The client's visible cards (or one of them), with change vs baseline and freshness."""
    query = (
        select(PortalCard)
        .join(MetricDefinition, PortalCard.metric_id == MetricDefinition.id)
        .outerjoin(Connection, MetricDefinition.connection_id == Connection.id)
        .where(PortalCard.client_id == client_id, PortalCard.visible.is_(True), MetricDefinition.published.is_(True))
        # A source shows on the portal once it is live (active or paused) and marked visible.
        .where((MetricDefinition.connection_id.is_(None))
               | (Connection.lifecycle.in_(PORTAL_LIFECYCLES) & Connection.portal_visible.is_(True)))
        .options(joinedload(PortalCard.metric).joinedload(MetricDefinition.connection).joinedload(Connection.provider))
        .order_by(PortalCard.position, PortalCard.id)
    )
    if card_id is not None:
        query = query.where(PortalCard.id == card_id)
    views = []
    for card in db.session.scalars(query).unique():
        metric = card.metric
        change = pct = None
        if card.current_value is not None and card.baseline_value is not None:
            change = card.current_value - card.baseline_value
            if card.baseline_value != 0:
                pct = (change / abs(card.baseline_value) * 100).quantize(Decimal("0.1"))
        text, tone = freshness(metric.connection, card.value_changed_at)
        source = source_name(metric)
        label = periods.label(metric.period, periods.period_start(metric.period, card.value_updated_at)) \
            if card.value_updated_at else ""
        views.append(CardView(card, metric, source, label, change, pct, text, tone))
    return views


def notes(client_id):
    """The client's visible report notes, newest first."""
    query = (
        select(ReportNote).where(ReportNote.client_id == client_id, ReportNote.visible.is_(True),
                                 ReportNote.status == "published")
        .order_by(ReportNote.note_date.desc(), ReportNote.id.desc()).limit(NOTES_SHOWN)
    )
    return list(db.session.scalars(query))


def incidents(client_id):
    """Open incidents the admin chose to show, with their client-safe summary only."""
    query = select(Incident).where(
        Incident.client_id == client_id, Incident.status == "open", Incident.show_to_client.is_(True)
    ).order_by(Incident.opened_at.desc())
    return list(db.session.scalars(query))


PERIOD_WORDS = {"day": "each day", "week": "each week (Monday to Sunday)", "month": "each calendar month",
                "quarter": "each calendar quarter"}
AGGREGATION_WORDS = {"sum": "the total", "count": "how many", "avg": "the average", "last": "the latest value"}


def how_we_measure(view, moment=None):
    """A card's "How we measure this", in the client's words: no ids, no raw values, no provider jargon.
    The record count is for the period holding `moment` (default: now)."""
    metric, connection = view.metric, view.metric.connection
    counted, last = 0, None
    if connection is not None and metric.period:
        found = provenance.explain(metric, periods.period_start(metric.period, moment or utcnow()))
        counted = found["counted_count"]
        last = max((line.occurred_at for line in found["counted"] if line.occurred_at), default=None)
    if connection is None:
        promise = "Entered by your ZartsAlgo team when they have a new figure."
    elif connection.provider.kind == "csv":
        promise = "Updated when your team's file is uploaded; you will see a note when it is."
    elif connection.provider.kind == "webhook":
        promise = f"Updated within minutes of each new record from {view.source.lower()}."
    else:
        promise = f"Checked on a schedule; updated within the hour of a change in {view.source.lower()}."
    owner = connection.owner if connection is not None else None
    return {
        "source": view.source, "period": PERIOD_WORDS.get(metric.period, metric.period or "—"),
        "what": _what(metric),
        "unit": metric.unit, "meaning": metric.client_meaning, "records": counted, "last_record_at": last,
        "promise": promise, "contact": owner.display_name if owner else "your ZartsAlgo team",
        "contact_email": owner.email if owner else None,
    }


def parse_month(text):
    """The first instant of a YYYY-MM month (default: this month); a DomainError for anything else."""
    if not text:
        return periods.period_start("month", utcnow())
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=timezone.utc)
    except ValueError:
        raise DomainError(f"month must be YYYY-MM, got {text[:20]!r}") from None


def report(client_id, month):
    """The client's printable report for the month starting at `month`: every visible card with its
    value for the month (its own period's value at the month's end), baseline, change and how it is
    measured; the notes dated in the month; the incidents shown to the client that touched it."""
    end = periods.shift("month", month, 1)
    moment = min(end - timedelta(seconds=1), utcnow())
    items = []
    for view in card_views(client_id):
        metric = view.metric
        value, baseline = view.card.current_value, view.card.baseline_value
        if metric.connection_id is not None and metric.period:  # bounded, however much the month holds
            start = periods.period_start(metric.period, moment)
            value = provenance.explain(metric, start)["total"]
            baseline = (provenance.explain(metric, periods.shift(metric.period, start, -1))["total"]
                        if metric.baseline_mode == "previous_period" else metric.baseline_value)
        change = value - baseline if value is not None and baseline is not None else None
        items.append({"view": view, "value": value, "baseline": baseline, "change": change,
                      "status": outcomes.STATUS_WORDS[outcomes.status_for(metric, value, baseline)],
                      "period": periods.label(metric.period, periods.period_start(metric.period, moment))
                      if metric.period else "", "how": how_we_measure(view, moment)})
    month_notes = list(db.session.scalars(select(ReportNote).where(
        ReportNote.client_id == client_id, ReportNote.visible.is_(True), ReportNote.status == "published",
        ReportNote.note_date >= month.date(), ReportNote.note_date < end.date()).order_by(ReportNote.note_date)))
    shown = list(db.session.scalars(select(Incident).where(
        Incident.client_id == client_id, Incident.show_to_client.is_(True), Incident.opened_at < end,
        (Incident.resolved_at.is_(None)) | (Incident.resolved_at >= month)).order_by(Incident.opened_at)))
    return {"month": month, "label": month.strftime("%B %Y"), "items": items, "notes": month_notes,
            "incidents": shown, "previous": periods.shift("month", month, -1).strftime("%Y-%m"),
            "next": periods.shift("month", month, 1).strftime("%Y-%m")}


def _what(metric):
    """'the total in USD', 'the total of leads', 'how many': what a card counts, in words."""
    words, unit = AGGREGATION_WORDS.get(metric.aggregation, "the value"), (metric.unit or "").strip()
    if not unit or unit.lower() in ("count", "number", "#"):
        return words
    return f"{words} in {unit}" if unit.isupper() else f"{words} of {unit}"


def card_dict(view):
    """One card as its client sees it, in plain values (the CLI's `portal --json`)."""
    card, metric = view.card, view.metric
    return {
        "id": card.id, "title": card.title, "meaning": metric.client_meaning, "source": view.source,
        "period": view.period_label, "value": _number(card.current_value), "unit": metric.unit,
        "value_text": NO_DATA if card.current_value is None else f"{_plain(card.current_value)} {metric.unit}",
        "baseline": _number(card.baseline_value), "change": _number(view.change),
        "change_pct": _number(view.change_pct), "status": view.status_label, "next_action": metric.next_action,
        "freshness": view.freshness,
    }


def _number(value):
    return None if value is None else float(value)


def _plain(value):
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
