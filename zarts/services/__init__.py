"""The domain: plain functions over the session that views, jobs and the CLI all call."""
import json
import re

_SURROGATE = re.compile("[\ud800-\udfff]")


class DomainError(ValueError):
    """Bad input for a domain operation; views show it as a 4xx, the CLI as a one-line error."""


def json_object(text):
    """The JSON object typed in `text` (a form field, a CLI option); DomainError says what is wrong."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DomainError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise DomainError("must be a JSON object")
    return value


def storable_text(text):
    """text as a database column can store it: a lone surrogate (a valid JSON escape, but not
    UTF-8) becomes U+FFFD. Provider text bound for a string column goes through here."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)
