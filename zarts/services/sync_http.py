"""HTTP for sync connectors (standard library only): one GET of a JSON page, politely.

429 waits as long as Retry-After says, up to a cap; asked to wait longer, the run stops and the
next one starts after that time. 5xx and network errors are retried with exponential backoff and
jitter. 401/403 mean the credential is wrong; other 4xx and redirects mean the configuration is.
Redirects are never followed, so the credential is only ever sent to the configured host.
"""
import json
import random
import time
import urllib.error
import urllib.request
from datetime import timedelta
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..models import utcnow

MAX_PAGE_BYTES = 10 * 1024 * 1024
USER_AGENT = "zarts-sync/1"


class SourceError(Exception):
    """A page could not be fetched. kind: auth, config (a person must act), http, network, parse,
    throttled (retry_at says when the source lets us back in)."""

    def __init__(self, kind, message, retry_at=None):
        super().__init__(message)
        self.kind, self.message, self.retry_at = kind, message, retry_at


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirects)


def page_url(endpoint, params):
    """The endpoint with params merged into its own query string (params win)."""
    parts = urlsplit(endpoint)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=urlencode(query)))


def safe_url(url):
    """scheme://host/path only: query strings may carry cursors or keys, so messages leave them out."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))


class Source:
    """Fetches pages for one run; on_throttle(), on_retry(message) and heartbeat() are callbacks."""

    def __init__(self, config, credential, deadline, on_throttle=None, on_retry=None, sleep=time.sleep,
                 rng=random):
        self.config, self.deadline, self.sleep, self.rng = config, deadline, sleep, rng
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if credential:
            self.headers[config["auth_header"]] = f"{config['auth_prefix']}{credential}"
        self.on_throttle = on_throttle or (lambda: None)
        self.on_retry = on_retry or (lambda kind, message: None)

    def get(self, params):
        """The JSON body of one page; SourceError when it cannot be had."""
        url = page_url(self.config["endpoint"], params)
        throttles = failures = 0
        while True:
            status, headers, body, problem = self._request(url)
            if status is not None and 200 <= status < 300:
                return _json(body)
            if status == 429:
                throttles += 1
                self.on_throttle()
                wait = retry_after(headers)
                if wait is None:
                    wait = self._backoff(throttles)
                if wait > self.config["retry_after_cap_seconds"] or time.monotonic() + wait > self.deadline:
                    raise SourceError("throttled", f"the source asked us to wait {wait:g} s (HTTP 429); the next "
                                      "run starts after that", retry_at=utcnow() + timedelta(seconds=wait))
                if throttles > self.config["max_retries"]:
                    raise SourceError("throttled", f"still throttled (HTTP 429) after {throttles} tries; the next "
                                      "run starts later", retry_at=utcnow() + timedelta(seconds=wait))
                self.sleep(wait)
                continue
            if status is None or status >= 500:
                failures += 1
                kind = "network" if status is None else "http"
                message = f"GET {safe_url(url)}: {problem or f'HTTP {status}'}"
                if failures > self.config["max_retries"]:
                    raise SourceError(kind, f"{message}, {failures} attempts")
                self.on_retry(kind, message)
                wait = self._backoff(failures)
                if time.monotonic() + wait > self.deadline:
                    raise SourceError(kind, f"{message}; out of time for retries")
                self.sleep(wait)
                continue
            if status in (401, 403):
                raise SourceError("auth", f"HTTP {status} from {safe_url(url)}: check the credential")
            if 300 <= status < 400:
                raise SourceError("config", f"HTTP {status} redirect from {safe_url(url)}: configure the final URL")
            raise SourceError("config", f"HTTP {status} from {safe_url(url)}: check the endpoint and parameters")

    def _request(self, url):
        """(status, headers, body, problem); status None when no answer came."""
        request = urllib.request.Request(url, headers=self.headers, method="GET")
        try:
            with _OPENER.open(request, timeout=self.config["timeout_seconds"]) as response:
                return response.status, response.headers, _read(response), None
        except urllib.error.HTTPError as exc:  # the body of an error answer is never kept
            headers = exc.headers
            exc.close()
            return exc.code, headers, b"", None
        except (urllib.error.URLError, HTTPException, OSError) as exc:  # refused, reset, timed out
            reason = getattr(exc, "reason", None) or exc
            return None, {}, b"", f"{type(exc).__name__}: {reason}"[:300]

    def _backoff(self, attempt):
        """base * 2^(attempt-1), capped, +-25% jitter."""
        delay = min(self.config["backoff_cap_seconds"], self.config["backoff_base_seconds"] * 2 ** (attempt - 1))
        return delay * (1 + self.rng.uniform(-0.25, 0.25))


def retry_after(headers):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or invalid."""
    value = (headers.get("Retry-After") if headers else None) or ""
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(min(int(value), 86400))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, min((moment - utcnow()).total_seconds(), 86400.0))


def _read(response):
    body = response.read(MAX_PAGE_BYTES + 1)
    if len(body) > MAX_PAGE_BYTES:
        raise SourceError("config", f"a page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MiB: lower page_size")
    return body


def _json(body):
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError("parse", f"the page is not JSON ({type(exc).__name__})") from None
