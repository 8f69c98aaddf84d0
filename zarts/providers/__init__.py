"""Shipped provider definitions: one JSON file per provider, loaded as data."""
import json
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent
SHIPPED_KEYS = ("standard_webhooks", "stripe", "shopify", "github", "manual_csv_import", "generic_http_sync")


@lru_cache(maxsize=None)
def definitions():
    """Every shipped definition by provider key (read once per process)."""
    found = {}
    for path in sorted(HERE.glob("*.json")):
        data = json.loads(path.read_text())
        found[data["key"]] = data
    return found


def definition(key):
    """The shipped definition for a provider key, or None."""
    return definitions().get(key)
