"""All models, importable from one place."""
from .accounts import ROLES, Client, User
from .audit import AdminAction
from .connections import (
    HEALTHS, LIFECYCLES, PROVIDER_KINDS, SIGNATURE_SCHEMES,
    Connection, ConnectionMapping, HealthChange, Provider,
)
from .events import (
    EVENT_SOURCES, EVENT_STATUSES, FINAL_STATUSES,
    MetricValue, NormalizedEvent, RawEvent, SyncError, WebhookEvent,
)
from .outcomes import AGGREGATIONS, BASELINE_MODES, DIRECTIONS, PERIODS, AdminTask, Incident, MetricDefinition, PortalCard, ReportNote
from .types import utcnow

__all__ = [
    "ROLES", "Client", "User", "AdminAction", "HEALTHS", "LIFECYCLES", "PROVIDER_KINDS",
    "SIGNATURE_SCHEMES", "Connection", "ConnectionMapping", "HealthChange", "Provider",
    "EVENT_SOURCES", "EVENT_STATUSES", "FINAL_STATUSES", "MetricValue", "NormalizedEvent",
    "RawEvent", "SyncError", "WebhookEvent", "AGGREGATIONS", "BASELINE_MODES", "DIRECTIONS", "PERIODS",
    "AdminTask", "Incident", "MetricDefinition", "PortalCard", "ReportNote", "utcnow",
]
