"""The health rules, the sync settings and Retry-After parsing as plain functions."""
from datetime import datetime, timedelta, timezone

import pytest

from zarts.services import DomainError
from zarts.services.health import rules
from zarts.services.health.rules import DEFAULT_THRESHOLDS, Stats, evaluate
from zarts.services.sync import settings, source

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def verdict(**stats):
    return evaluate(Stats(**{"lifecycle": "active", **stats}), dict(DEFAULT_THRESHOLDS), NOW)


def signal(kind, minutes_ago, hits):
    return (kind, (NOW - timedelta(minutes=minutes_ago)).replace(second=0), hits)


def test_first_match_wins_and_the_reason_names_every_finding_of_that_state():
    health, reason = verdict(dead_letters=4, retrying=2, signals=[signal("throttled", 5, 3)])
    assert health == "error" and reason.startswith("4 events dead-lettered") and "retried" not in reason
    health, reason = verdict(retrying=2, failures=5, signals=[signal("throttled", 5, 3)])
    assert health == "degraded"
    assert reason == ("2 events failed and waiting to be retried; 5 failed attempts in the last 1 h; "
                      "The provider throttled us (HTTP 429) 3 times in the last 1 h")


def test_silence_is_stale_after_cadence_plus_grace_and_an_error_after_twice_the_cadence():
    last = {"cadence": 3600, "last_event_at": NOW - timedelta(minutes=74), "last_success_at": NOW - timedelta(minutes=74)}
    assert verdict(**last)[0] == "healthy"
    last.update(last_event_at=NOW - timedelta(minutes=76), last_success_at=NOW - timedelta(minutes=76))
    assert verdict(**last) == ("stale", "No events since Nov 27, 10:44 UTC (expected every 1 h, plus 15 min grace)")
    last.update(last_success_at=NOW - timedelta(minutes=121))
    assert verdict(**last)[0] == "error"
    assert verdict(**{**last, "lifecycle": "testing"})[0] == "healthy"  # not live: silence is fine
    assert verdict(**{**last, "cadence": None})[0] == "healthy"  # no cadence: no silence rule


def test_auth_rejections_before_the_last_accepted_delivery_do_not_count():
    burst = [signal("auth_rejected", 10, 6)]
    assert verdict(signals=burst)[0] == "error"
    fixed = verdict(signals=burst, last_event_at=NOW - timedelta(minutes=5))
    assert fixed[0] == "degraded" and "6 deliveries rejected in the last 1 h" in fixed[1]
    assert verdict(signals=[signal("auth_rejected", 20, 6)])[0] == "degraded"  # outside the 15 min window


def test_thresholds_merge_valid_overrides_and_validation_names_problems():
    merged = rules.thresholds({"dead_letters_error": 10, "window_seconds": 5, "nonsense": 1})
    assert merged["dead_letters_error"] == 10 and merged["window_seconds"] == 3600
    assert rules.clean_thresholds({"failures_degraded": 2, "stale_grace_seconds": None}) == {"failures_degraded": 2}
    with pytest.raises(DomainError, match="unknown health threshold 'x'.*window_seconds must be"):
        rules.clean_thresholds({"x": 1, "window_seconds": True})
    assert rules.grace_seconds(DEFAULT_THRESHOLDS, 120) == 60
    assert rules.grace_seconds({**DEFAULT_THRESHOLDS, "stale_grace_seconds": 0}, 3600) == 0


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (90, "2 min"), (3600, "1 h"), (5400, "1.5 h"),
                                           (86400, "24 h"), (172800, "2 d"), (90000, "25 h")])
def test_spans_read_naturally(seconds, text):
    assert rules.span(seconds) == text


def test_sync_settings_are_validated():
    base = {**settings.BUILT_IN, "endpoint": "https://api.example.com/records"}
    assert settings.validate(base) == []
    problems = settings.validate({**base, "endpoint": "ftp://x", "records_path": "[", "page_size": 0,
                                     "pagination": "pages", "auth_header": "Bad Header", "extra": 1})
    text = "; ".join(problems)
    for fragment in ("unknown setting 'extra'", "endpoint: must be an http or https URL", "records_path",
                     "page_size", "pagination", "auth_header"):
        assert fragment in text
    assert "put credentials in the credential" in "; ".join(
        settings.validate({**base, "endpoint": "https://user:pw@api.example.com/"}))


def test_retry_after_reads_seconds_and_http_dates():
    assert source.retry_after({"Retry-After": "7"}) == 7.0
    assert source.retry_after({}) is None and source.retry_after({"Retry-After": "soon"}) is None
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    waited = source.retry_after({"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert 25 <= waited <= 31
    assert source.safe_url("https://api.example.com:8443/v1/x?key=secret&cursor=abc") == "https://api.example.com:8443/v1/x"
