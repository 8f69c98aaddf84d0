"""CSV cell values: numbers and dates as CRMs and spreadsheets export them in many locales, read as canonical text.

No Flask, no database. Each function returns canonical text or raises ValueError with a message for the person
who uploaded the file; when a cell reads fine the other way round (a decimal comma, day-first dates) the message
names the mapping setting to change.
"""
import calendar
import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

DECIMALS = ("auto", ".", ",")
MAX_DIGITS, MAX_TEXT = 30, 100
SYMBOL = "\u00a4"  # every currency symbol (Unicode category Sc) is read as this one
GAPS = " \u00a0\u2007\u2009\u202f'\u2019"  # only ever between thousands: spaces, no-break and thin spaces, apostrophes
CURRENCY = rf"[A-Z]{{0,3}}{SYMBOL}|[A-Z]{{3}}|Fr\.|kr\.?|Kč|zł|Ft|Rs\.?|R"
NUMBER = re.compile(rf"""
    (?P<sign>[-+]?)\s*
    (?:(?P<before>{CURRENCY})\s*)?
    (?P<inner>[-+]?)\s*
    (?P<body>[.,]?[0-9](?:[0-9.,{GAPS}]*[0-9])?)
    (?:\s*(?P<after>{CURRENCY}))?
""", re.X)
SCIENTIFIC = re.compile(r"[-+]?[0-9.,]*[0-9][eE][-+]?[0-9]+")
FIRST_GROUP, DIGITS = re.compile(r"[1-9][0-9]{0,2}"), re.compile(r"[0-9]+")
EXAMPLES = {".": "1,234,567.89", ",": "1.234.567,89"}
NOT_A_NUMBER = "not a number (use digits with a '.' or ',' decimal separator, e.g. 1200.50)"
DECIMAL_HINTS = {
    ".": "looks like it uses a decimal comma (e.g. 1.234,56): set the mapping's decimal separator to ','",
    ",": "looks like it uses a decimal point (e.g. 1,234.56): set the mapping's decimal separator to '.'",
}
STAMP = re.compile(r"""
    (?:(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})
      |(?P<first>[0-9]{1,2})(?P<sep2>[-/.])(?P<second>[0-9]{1,2})(?P=sep2)(?P<last>[0-9]{4}|[0-9]{2}))
    (?:(?:T|\s+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<sec>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,9}))?)?
       (?:\s*(?P<half>[AaPp])\.?[Mm]\.?)?
       (?:\s*(?P<zone>Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?))?)?
""", re.X)


def parse_number(text: str, decimal: str = "auto") -> str:
    """The cell's number as canonical decimal text ("1234.56", "-12", "0.5"); ValueError with a plain-words message.

    decimal is the separator before the fraction; "auto" decides per cell: with both "," and "." the rightmost
    one, a separator seen more than once groups thousands, a lone "," before exactly three digits groups thousands
    when that reads ("1,200" is 1200, "0,500" is 0.500) and any other lone one is the decimal separator.
    Currency symbols and codes, spaces, apostrophes and the other separator between thousands are dropped;
    "-", "−" or accounting parentheses make it negative. Scientific notation (1.2E+5) is refused: spreadsheets
    write long numbers that way after rounding them. Leading zeros are dropped, trailing ones kept; "-0" is "0".
    """
    if decimal not in DECIMALS:
        raise ValueError(f"the decimal separator must be one of {', '.join(DECIMALS)}")
    negative, body = _unwrap(text)
    mark = _decimal_mark(body) if decimal == "auto" else decimal
    try:
        whole, fraction = _split(body, mark)
    except ValueError:
        if decimal != "auto" and _reads(body, _other(decimal)):
            raise ValueError(DECIMAL_HINTS[decimal]) from None
        raise
    whole = whole.lstrip("0")
    if len(whole) + len(fraction) > MAX_DIGITS:
        raise ValueError(f"too many digits for a number (at most {MAX_DIGITS})")
    canonical = f"{whole or '0'}.{fraction}" if fraction else whole or "0"
    return f"-{canonical}" if negative and Decimal(canonical) else canonical


def _unwrap(text):
    """(negative, the digits and separators) once whitespace, currency, sign and accounting parentheses are off."""
    s = _plain(text).strip()
    if not s:
        raise ValueError("empty (expected a number, e.g. 1200.50)")
    if len(s) > MAX_TEXT:
        raise ValueError("too long to be a number")
    bracketed = s.startswith("(") and s.endswith(")")
    match = NUMBER.fullmatch(s[1:-1].strip() if bracketed else s)
    signs = match and match["sign"] + match["inner"]
    if not match or len(signs) > 1 or (bracketed and signs) or (match["before"] and match["after"]):
        if SCIENTIFIC.fullmatch(s):
            raise ValueError("a number in scientific notation (e.g. 1.2E+5): export the column as plain digits")
        raise ValueError(NOT_A_NUMBER)
    return bracketed or signs == "-", match["body"]


def _plain(text):
    """text with currency symbols as one sign, the Unicode minus as '-' and any script's digits as 0-9."""
    return "".join(SYMBOL if unicodedata.category(c) == "Sc" else "-" if c == "\u2212"
                   else str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _other(mark):
    return "," if mark == "." else "."


def _decimal_mark(body):
    """The decimal separator "auto" reads in body (see parse_number)."""
    if "," in body and "." in body:
        return max(",", ".", key=body.rfind)
    mark = "," if "," in body else "."
    if body.count(mark) > 1:
        return _other(mark)
    if mark == "," and len(body.partition(",")[2]) == 3 and _reads(body, "."):
        return "."
    return mark


def _split(body, mark):
    """(whole digits, fraction digits) of body read with mark as the decimal separator; ValueError if it won't read."""
    whole, point, fraction = body.partition(mark)
    if mark in fraction:
        raise ValueError(f"not a number: more than one decimal separator ('{mark}')")
    if point and not DIGITS.fullmatch(fraction):
        raise ValueError(f"not a number: only digits may follow the decimal separator ('{mark}')")
    groups = re.split(f"[{re.escape(_other(mark) + GAPS)}]", whole)
    if len(groups) > 1 and not (FIRST_GROUP.fullmatch(groups[0]) and all(len(g) == 3 for g in groups[1:])):
        raise ValueError(f"not a number: the thousands separators are in the wrong places (e.g. {EXAMPLES[mark]})")
    return "".join(groups), fraction


def _reads(body, mark):
    try:
        _split(body, mark)
    except ValueError:
        return False
    return True


def parse_date(text: str, day_first: bool = False) -> str:
    """The cell's date as ISO text YYYY-MM-DD; ValueError with a plain-words message.

    Reads YYYY-MM-DD (or with / or .) and, as day_first says, DD/MM/YYYY or MM/DD/YYYY (or with . or -).
    A time after the date is checked and dropped; the date is kept as written, not moved to another time zone.
    """
    return _stamp(text, day_first, with_time=False).date().isoformat()


def parse_datetime(text: str, day_first: bool = False) -> str:
    """The cell's date and time as ISO 8601 text (datetime.isoformat()); ValueError with a plain-words message.

    The dates parse_date reads, then optionally "T" or spaces, HH:MM[:SS[.fraction]], AM/PM and Z, UTC, GMT or
    an offset (+HH:MM, +HHMM, +HH). A bare date is midnight; a value with a zone stays aware, one without naive.
    """
    return _stamp(text, day_first, with_time=True).isoformat()


def _stamp(text, day_first, with_time):
    s = text.strip()
    if not s:
        raise ValueError("empty (expected a date, e.g. 2026-11-05)")
    match = STAMP.fullmatch(s)
    if not match:
        order = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
        usage = f"YYYY-MM-DD HH:MM or {order} HH:MM" if with_time else f"YYYY-MM-DD or {order}"
        raise ValueError(f"not a date{' and time' if with_time else ''} (use {usage})")
    return datetime.combine(_day(match, day_first), _time(match), tzinfo=_zone(match["zone"]))


def _day(match, day_first):
    """The date in match, year first or, in the order day_first says, year last."""
    if match["year"]:
        return _real_date(int(match["year"]), int(match["month"]), int(match["day"]))
    if len(match["last"]) == 2:
        raise ValueError("the year has only two digits: export dates with four-digit years (e.g. 2026)")
    first, second, year = int(match["first"]), int(match["second"]), int(match["last"])
    day, month = (first, second) if day_first else (second, first)
    try:
        return _real_date(year, month, day)
    except ValueError:
        if month > 12 and _is_date(year, day, month):
            raise ValueError(_order_hint(day_first, month)) from None
        raise


def _order_hint(day_first, month):
    if day_first:
        return (f"not a real date in day/month/year order (there is no month {month}): if the file writes "
                "month/day/year, turn off the mapping's \"dates are day first\" setting")
    return (f"not a real date in month/day/year order (there is no month {month}): if the file writes "
            "day/month/year, turn on the mapping's \"dates are day first\" setting")


def _real_date(year, month, day):
    try:
        return date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            raise ValueError(f"not a real date (there is no month {month})") from None
        if year < 1:
            raise ValueError("not a real date (there is no year 0)") from None
        raise ValueError(f"not a real date ({calendar.month_name[month]} {year} has no day {day})") from None


def _is_date(year, month, day):
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _time(match):
    """The time of day in match (midnight when there is none); ValueError when it is not a real one."""
    if match["hour"] is None:
        return time()
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["sec"] or 0)
    microsecond = int((match["fraction"] or "")[:6].ljust(6, "0"))
    if match["half"]:
        if not 1 <= hour <= 12:
            raise ValueError("not a real time (with AM or PM the hour is 1-12)")
        hour = hour % 12 + (12 if match["half"] in "Pp" else 0)
    try:
        return time(hour, minute, second, microsecond)
    except ValueError:
        raise ValueError("not a real time (hours 0-23, minutes and seconds 0-59)") from None


def _zone(text):
    """The tzinfo for Z, UTC, GMT or an offset like +01:00, +0100 or +01; None when there is none."""
    if text is None:
        return None
    if text in ("Z", "UTC", "GMT"):
        return timezone.utc
    hours, minutes = int(text[1:3]), int(text[-2:]) if len(text) > 3 else 0
    if hours > 23 or minutes > 59:
        raise ValueError("not a real time zone offset (use Z or +HH:MM, e.g. +01:00)")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text.startswith("-") else offset)
