"""Which database errors are a clash with another transaction, worth trying again at once."""
from sqlalchemy.exc import IntegrityError, OperationalError

LOCK_WAIT_TIMEOUT, DEADLOCK, DUPLICATE_KEY = 1205, 1213, 1062  # MySQL / MariaDB error codes


def is_conflict(exc, duplicate_key=False):
    """True for a MySQL deadlock or lock wait timeout (and, when asked, a duplicate key: another
    transaction inserted the same row first). Nothing of the failed statement was kept."""
    if not isinstance(exc, (OperationalError, IntegrityError)):
        return False
    orig = getattr(exc, "orig", None)
    code = orig.args[0] if orig is not None and orig.args else None
    return code in (LOCK_WAIT_TIMEOUT, DEADLOCK) or (duplicate_key and code == DUPLICATE_KEY)
