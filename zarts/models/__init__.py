"""All models, importable from one place."""
from .accounts import ROLES, Client, User
from .audit import AdminAction
from .connections import (
    HEALTHS,
    LIFECYCLES,
    PROVIDER_KINDS,
    SIGNATURE_SCHEMES,
    Connection,
    ConnectionMapping,
    HealthChange,
    Provider,
)
from .events import (
    EVENT_SOURCES,
    EVENT_STATUSES,
    FINAL_STATUSES,
    MODES,
    MetricValue,
    NormalizedEvent,
    RawEvent,
    SyncError,
    WebhookEvent,
)
from .health import REJECTIONS_KEPT, SIGNAL_KINDS, HealthSignal, RejectedDelivery
from .imports import IMPORT_STATUSES, CsvImport, CsvImportChunk
from .limits import RateLimitCounter
from .notifications import DESTINATION_KINDS, NOTIFICATION_STATUSES, Notification, NotificationDestination
from .operations import BULK_KINDS, BULK_STATUSES, BulkOperation
from .outcomes import (
    AGGREGATIONS,
    BASELINE_MODES,
    DIRECTIONS,
    PERIODS,
    AdminTask,
    Incident,
    MetricDefinition,
    PortalCard,
    ReportNote,
)
from .shapes import DRIFT_KINDS, DRIFT_STATUSES, DriftFinding, EventShape
from .sync import OPEN_SYNC_STATUSES, SYNC_MODES, SYNC_RUN_STATUSES, SyncRun
from .types import utcnow

__all__ = [
    "ROLES", "Client", "User", "AdminAction", "HEALTHS", "LIFECYCLES", "PROVIDER_KINDS",
    "SIGNATURE_SCHEMES", "Connection", "ConnectionMapping", "HealthChange", "Provider",
    "EVENT_SOURCES", "EVENT_STATUSES", "MODES", "FINAL_STATUSES", "MetricValue", "NormalizedEvent",
    "RawEvent", "SyncError", "WebhookEvent", "BULK_KINDS", "BULK_STATUSES", "BulkOperation", "AGGREGATIONS", "DIRECTIONS", "PERIODS",
    "BASELINE_MODES", "IMPORT_STATUSES", "CsvImport", "CsvImportChunk",
    "AdminTask", "Incident", "MetricDefinition", "PortalCard", "ReportNote", "utcnow",
    "SIGNAL_KINDS", "HealthSignal", "REJECTIONS_KEPT", "RejectedDelivery", "RateLimitCounter", "OPEN_SYNC_STATUSES", "SYNC_MODES", "SYNC_RUN_STATUSES", "SyncRun",
    "DESTINATION_KINDS", "NOTIFICATION_STATUSES", "Notification", "NotificationDestination",
    "DRIFT_KINDS", "DRIFT_STATUSES", "DriftFinding", "EventShape",
]
