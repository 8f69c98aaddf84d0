"""Route sweeps: every URL of an area, for tests that must hold on all of them."""
import re


def route_urls(app, prefix, ids=None, method="GET"):
    """Every route under prefix that answers `method`, each argument filled from ids (default 1)."""
    ids = ids or {}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or method not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(ids.get(arg, 1)), url)
        urls.append(url)
    return urls
