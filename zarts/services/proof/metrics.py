"""Metric definitions: a signal is only published once source, period, unit and meaning are set."""
from decimal import Decimal, InvalidOperation

from ...extensions import db
from ...models import (
    AGGREGATIONS,
    BASELINE_MODES,
    DIRECTIONS,
    PERIODS,
    Connection,
    MetricDefinition,
    PortalCard,
    utcnow,
)
from .. import DomainError, audit
from . import outcomes

EDITABLE = (
    "name", "metric_name", "connection_id", "period", "unit", "client_meaning", "aggregation", "baseline_mode",
    "baseline_value", "baseline_label", "target_value", "direction", "watch_threshold", "action_threshold",
    "next_action", "source_name",
)
NUMBERS = ("baseline_value", "target_value", "watch_threshold", "action_threshold")
PUBLISH_NEEDS = (("connection_id", "source"), ("period", "period"), ("unit", "unit"),
                 ("client_meaning", "client meaning"))


def publish_gaps(metric):
    """What stops this metric from being published: the missing of source, period, unit, meaning."""
    return [label for field, label in PUBLISH_NEEDS if not (str(getattr(metric, field) or "").strip())]


def _clean(values):
    data = {k: values.get(k) for k in EDITABLE if k in values}
    for key, value in list(data.items()):
        if isinstance(value, str):
            data[key] = value.strip() or None
    if data.get("connection_id") is not None:
        try:
            data["connection_id"] = int(data["connection_id"])
        except (TypeError, ValueError) as exc:
            raise DomainError("source connection must be a connection id") from exc
    for key in NUMBERS:
        if data.get(key) is not None:
            try:
                data[key] = Decimal(str(data[key]))
            except InvalidOperation as exc:
                raise DomainError(f"{key.replace('_', ' ')} must be a number") from exc
    for key, allowed in (("period", PERIODS), ("aggregation", AGGREGATIONS), ("direction", DIRECTIONS),
                         ("baseline_mode", BASELINE_MODES)):
        if data.get(key) is not None and data[key] not in allowed:
            raise DomainError(f"{key.replace('_', ' ')} must be one of {', '.join(allowed)}")
    return data


def save_metric(client, values, actor, metric=None):
    """Create or update a metric definition for client; audited."""
    data = _clean(values)
    if not data.get("name", getattr(metric, "name", None)):
        raise DomainError("a metric needs a name")
    if not data.get("metric_name", getattr(metric, "metric_name", None)):
        raise DomainError("a metric needs the name of the mapped value it reads (e.g. revenue)")
    _check_source(client, data.get("connection_id", getattr(metric, "connection_id", None)))
    before = _snapshot(metric) if metric else None
    if metric is None:
        metric = MetricDefinition(client_id=client.id, aggregation="sum", direction="higher", baseline_mode="fixed")
        db.session.add(metric)
    for key, value in data.items():
        setattr(metric, key, value)
    if metric.published and publish_gaps(metric):
        raise DomainError("a published metric needs " + ", ".join(publish_gaps(metric)))
    db.session.flush()
    audit.record(actor, "metric.save", "metric", metric.id, "", before, _snapshot(metric))
    if metric.published:
        outcomes.refresh_card(metric)
    return metric


def _check_source(client, connection_id):
    """A card only ever sums its own client's data: the source must be one of client's connections.

    Checked on the id about to be stored, before anything changes: a new metric has no loaded
    relationship to check, and the form is not the only way in.
    """
    if connection_id is None:
        return
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise DomainError(f"source connection {connection_id} does not exist")
    if connection.client_id != client.id:
        raise DomainError(f"the source connection belongs to another client: choose one of {client.name}'s "
                          "connections")


def publish(metric, actor):
    """Publish: the metric becomes a portal card. Refused, naming the gaps, when incomplete."""
    gaps = publish_gaps(metric)
    if gaps:
        raise DomainError("cannot publish: missing " + ", ".join(gaps))
    metric.published, metric.published_at = True, utcnow()
    outcomes.refresh_card(metric)
    audit.record(actor, "metric.publish", "metric", metric.id, "", {"published": False}, {"published": True})
    return metric


def unpublish(metric, actor):
    """Take a metric off the portal (its card is hidden, not deleted)."""
    metric.published = False
    card = db.session.scalar(db.select(PortalCard).filter_by(metric_id=metric.id))
    if card is not None:
        card.visible = False
    audit.record(actor, "metric.unpublish", "metric", metric.id, "", {"published": True}, {"published": False})


def set_card_visibility(card, visible, actor):
    """Show or hide one card on the client's portal."""
    before = {"visible": card.visible}
    card.visible = bool(visible)
    audit.record(actor, "card.visibility", "card", card.id, "", before, {"visible": card.visible})


def _snapshot(metric):
    return {k: (str(v) if isinstance(v, Decimal) else v) for k in EDITABLE if (v := getattr(metric, k)) is not None}
