"""Ordering: which of two states of one provider object is the newer, so an out-of-order
delivery never overwrites newer data.

A newer version always wins. At an equal version the status decides: a terminal status beats a
settled one, which beats any other; between two of one kind the stored state stays, so a
redelivery changes nothing and arrival order never decides. Without two versions, occurred_at
orders the states; when it cannot (missing, or the same moment) the later arrival wins as it
always did, except over a terminal status.
"""
from datetime import UTC, datetime
from decimal import Decimal, DecimalException

# Statuses after which a provider sends nothing that undoes them: a later state of the object
# comes with a newer version. "closed" is not one of them: issues, pull requests and orders reopen.
TERMINAL_STATUSES = frozenset({"cancelled", "canceled", "deleted", "refunded", "void", "expired", "uninstalled"})
# Statuses that state a result (paid, merged, a check's verdict): at an equal version they beat
# the steps before them (draft, open, pending, in progress) that providers often send in the same second.
SETTLED_STATUSES = frozenset({"paid", "delivered", "succeeded", "failed", "completed"})


def compare_versions(new, current_occurred_at, current_version, current_status=None):
    """-1 when new must not replace the stored state, 0 when neither is newer, 1 when new is.

    Versions decide when both sides have one: as numbers when both are numeric, as instants when
    both are ISO-8601 (offsets change with DST), else as text; at an equal version the statuses
    do (see the module docstring). Otherwise occurred_at decides; when either side lacks it, or
    both name the same moment, new counts as newer unless it would undo a terminal status.
    """
    if new.version is not None and current_version is not None:
        order = _compare(str(new.version).strip(), str(current_version).strip())
        return order or _order(_rank(new.status), _rank(current_status))
    if new.occurred_at is not None and current_occurred_at is not None:
        if order := _order(_utc(new.occurred_at), _utc(current_occurred_at)):
            return order
    return -1 if _rank(current_status) == 2 and _rank(new.status) < 2 else 1


def outcome(new, current_occurred_at, current_version, current_status, same):
    """What an upsert of new does: "stale" (the stored state stays), "unchanged" or "updated".

    same: new states exactly what is stored (fields, status and provider status).
    """
    order = compare_versions(new, current_occurred_at, current_version, current_status)
    if order < 0 or (order == 0 and not same):
        return "stale"
    return "unchanged" if same else "updated"


def _compare(a, b):
    for parse in (Decimal, lambda text: _utc(datetime.fromisoformat(text))):
        try:
            return _order(parse(a), parse(b))
        except (DecimalException, ValueError, OverflowError):  # NaN compares raise too
            continue
    return _order(a, b)


def _rank(status):
    return 2 if status in TERMINAL_STATUSES else 1 if status in SETTLED_STATUSES else 0


def _order(x, y):
    return (x > y) - (x < y)


def _utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
