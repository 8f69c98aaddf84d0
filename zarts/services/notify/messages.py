"""The words of each alert: what happened, since when, the likely cause, and the admin page to open.

Reasons come from error messages, which may quote a payload value (a mapping error names the
value it could not read): quoted text is cut out, so no alert ever carries a payload value.
"""
import re
from dataclasses import dataclass

QUOTED = re.compile(r"""'[^']*'?|"[^"]*"?|`[^`]*`?""")
LONG_TOKEN = re.compile(r"\S{41,}")  # an id, a hash or a blob: not words anyone needs in an alert
CAUSES = {
    "error": "deliveries are failing or being refused: a rotated signing secret on the provider's side, "
             "or a mapping that no longer fits what it sends, are the usual causes",
    "stale": "nothing arrived within the expected cadence: the provider may have disabled or paused the "
             "webhook, the sync may be failing, or there was simply nothing to send",
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    link: str


def plain_reason(text, limit=200):
    """An error message without quoted values or long tokens, in one line."""
    text = LONG_TOKEN.sub("…", QUOTED.sub("…", str(text or "")))
    text = " ".join(text.split())
    return text[:limit - 1] + "…" if len(text) > limit else text


def _when(moment):
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds):
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def health_bad(connection, health, since, base_url):
    link = f"{base_url}/admin/connections/{connection.id}"
    body = (f"{connection.display_name} went to {health} at {_when(since)}.\n\n"
            f"What happened: {plain_reason(connection.health_reason, 500)}\n"
            f"Likely cause: {CAUSES.get(health, 'see the connection page')}.\n"
            + ("The client's portal shows a delay notice while their data is late.\n" if connection.data_delayed else "")
            + f"\nOpen the connection: {link}\n")
    return Message(f"[zarts] {connection.display_name} is {health}", body, link)


def recovered(connection, health, since, now, base_url):
    link = f"{base_url}/admin/connections/{connection.id}"
    lasted = _duration((now - since).total_seconds()) if since else "a while"
    body = (f"{connection.display_name} recovered at {_when(now)}: it is {health} again after {lasted}.\n\n"
            f"Now: {plain_reason(connection.health_reason, 500)}\n\nOpen the connection: {link}\n")
    return Message(f"[zarts] Recovered: {connection.display_name} (after {lasted})", body, link)


def dead_letters(connection, count, minutes, reasons, first_at, base_url):
    """reasons: {plain reason: count}."""
    link = f"{base_url}/admin/events?connection={connection.id}&status=dead_lettered"
    top, top_count = max(reasons.items(), key=lambda item: item[1]) if reasons else ("unknown", count)
    events = "event" if count == 1 else "events"
    body = (f"{count} {events} dead-lettered on {connection.display_name} in the last {minutes} min "
            f"(since {_when(first_at)}).\n\n"
            f"Most common reason ({top_count} of {count}): {top}\n"
            "Likely cause: a mapping that does not fit what the provider now sends, or payloads it cannot "
            "parse; they are kept and can be retried or replayed once fixed.\n\n"
            f"Open the dead letters: {link}\n")
    return Message(f"[zarts] {count} {events} dead-lettered on {connection.display_name}", body, link)


def grouped_placeholder(kind, connection):
    """What a grouped row says until its window ends and it is written from the counts."""
    subject = (f"[zarts] Sync rate-limited: {connection.display_name}" if kind == "sync_throttled"
               else f"[zarts] Events dead-lettered on {connection.display_name}")
    return Message(subject, "Counting until the window ends.", "")


def sync_throttled(connection, count, minutes, reason, base_url):
    link = f"{base_url}/admin/connections/{connection.id}/syncs"
    runs = "run" if count == 1 else "runs"
    body = (f"{count} sync {runs} of {connection.display_name} stopped on the source's rate limit in the last "
            f"{minutes} min.\n\nLast: {plain_reason(reason, 300)}\n"
            "Likely cause: the source allows fewer requests than the sync makes; lower the page size or run it "
            "less often. The next run resumes from its cursor.\n\n"
            f"Open the sync runs: {link}\n")
    return Message(f"[zarts] Sync rate-limited: {connection.display_name}", body, link)


def testing_too_long(connection, days, base_url):
    link = f"{base_url}/admin/connections/{connection.id}"
    body = (f"{connection.display_name} has been in {connection.lifecycle} for {days} days.\n\n"
            "Its data is test data until it goes live, so the client's cards do not show it. Finish the "
            "onboarding checklist, or disconnect it if it is no longer needed.\n\n"
            f"Open the connection: {link}\n")
    return Message(f"[zarts] Still in {connection.lifecycle} after {days} days: {connection.display_name}",
                   body, link)


def test_message(base_url):
    link = f"{base_url}/admin/notifications"
    return Message("[zarts] Test notification",
                   f"This is a test from zarts: this destination receives alerts.\n\nSettings: {link}\n", link)
