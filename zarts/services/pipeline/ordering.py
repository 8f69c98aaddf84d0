"""Ordering: which of two states of one provider object is the newer, so an out-of-order
delivery never overwrites newer data."""
from datetime import UTC, datetime
from decimal import Decimal, DecimalException


def compare_versions(new, current_occurred_at, current_version):
    """-1 if new is older than the stored state, 0 if the same, 1 if newer or unknown.

    Versions decide when both sides have one: as numbers when both are numeric, as instants when
    both are ISO-8601 (offsets change with DST), else as text. Otherwise occurred_at decides;
    when either side lacks that too, the new record counts as newer.
    """
    if new.version is not None and current_version is not None:
        a, b = str(new.version).strip(), str(current_version).strip()
        for parse in (Decimal, lambda text: _utc(datetime.fromisoformat(text))):
            try:
                x, y = parse(a), parse(b)
                return (x > y) - (x < y)
            except (DecimalException, ValueError, OverflowError):  # NaN compares raise too
                continue
        return (a > b) - (a < b)
    if new.occurred_at is not None and current_occurred_at is not None:
        x, y = _utc(new.occurred_at), _utc(current_occurred_at)
        return (x > y) - (x < y)
    return 1


def _utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
