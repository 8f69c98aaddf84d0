"""HTTP for sync connectors: one GET of a JSON page, politely, over urllib3.

urllib3 keeps the connection alive from page to page and decides the waits: Retry-After on a 429
(seconds or an HTTP date), exponential backoff with jitter on 5xx answers and network errors,
and when the retries are used up. This module adds what a sync run needs on top: a 429 asking for
longer than the cap, or a wait past the run's deadline, ends the run (the next one starts after
that time) instead of sleeping in a worker; every throttle and retry is reported to the run.
401/403 mean the credential is wrong; other 4xx and redirects mean the configuration is.
Redirects are never followed, so the credential is only ever sent to the configured host. The
host is resolved once per run and checked (addresses): the connection goes to that address only.
"""
import json
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError, InvalidHeader, MaxRetryError
from urllib3.util import Retry, Timeout

from ...models import utcnow
from . import addresses

MAX_PAGE_BYTES = 10 * 1024 * 1024
MAX_WAIT_SECONDS = 86400
USER_AGENT = "zarts-sync/1"


class SourceError(Exception):
    """A page could not be fetched. kind: auth, config (a person must act), http, network, parse,
    throttled (retry_at says when the source lets us back in)."""

    def __init__(self, kind, message, retry_at=None):
        super().__init__(message)
        self.kind, self.message, self.retry_at = kind, message, retry_at


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


def retry_after(headers):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, as urllib3 reads it), at
    most a day; None when absent or invalid."""
    value = ((headers.get("Retry-After") if headers else None) or "").strip()
    if not value:
        return None
    try:
        return float(min(Retry(0).parse_retry_after(value), MAX_WAIT_SECONDS))
    except (InvalidHeader, ValueError, OverflowError):
        return None


class Source:
    """Fetches pages for one run; on_throttle() and on_retry(kind, message) are called per wait."""

    def __init__(self, config, credential, deadline, on_throttle=None, on_retry=None, sleep=time.sleep):
        self.config, self.deadline, self.sleep = config, deadline, sleep
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if credential:
            self.headers[config["auth_header"]] = f"{config['auth_prefix']}{credential}"
        self.on_throttle = on_throttle or (lambda: None)
        self.on_retry = on_retry or (lambda kind, message: None)
        self.pool = None  # opened on the first request, to the address checked then, for the whole run

    def _retry(self):
        base = float(self.config["backoff_base_seconds"])
        return Retry(total=self.config["max_retries"], backoff_factor=base, backoff_jitter=base / 4,
                     backoff_max=float(self.config["backoff_cap_seconds"]), redirect=False, raise_on_status=False)

    def get(self, params):
        """The JSON body of one page; SourceError when it cannot be had."""
        url = page_url(self.config["endpoint"], params)
        throttles, failures = self._retry(), self._retry()
        while True:
            status, headers, body, problem = self._request(url)
            if status is not None and 200 <= status < 300:
                return _json(body)
            if status == 429:
                tries, throttles = len(throttles.history) + 1, _next(throttles, url)
                self.on_throttle()
                if throttles is None:
                    raise SourceError("throttled", f"still throttled (HTTP 429) after {tries} tries; the next run "
                                      "starts later", retry_at=utcnow() + timedelta(seconds=retry_after(headers) or 0))
                wait = retry_after(headers)
                wait = self._backoff(throttles) if wait is None else wait
                if wait > self.config["retry_after_cap_seconds"] or self._late(wait):
                    raise SourceError("throttled", f"the source asked us to wait {wait:g} s (HTTP 429); the next "
                                      "run starts after that", retry_at=utcnow() + timedelta(seconds=wait))
                self.sleep(wait)
                continue
            if status is None or status >= 500:
                kind = "network" if status is None else "http"
                message = f"GET {safe_url(url)}: {problem or f'HTTP {status}'}"
                tries, failures = len(failures.history) + 1, _next(failures, url)
                if failures is None:
                    raise SourceError(kind, f"{message}, {tries} attempts")
                self.on_retry(kind, message)
                wait = self._backoff(failures)
                if self._late(wait):
                    raise SourceError(kind, f"{message}; out of time for retries")
                self.sleep(wait)
                continue
            if status in (401, 403):
                raise SourceError("auth", f"HTTP {status} from {safe_url(url)}: check the credential")
            if 300 <= status < 400:
                raise SourceError("config", f"HTTP {status} redirect from {safe_url(url)}: configure the final URL")
            raise SourceError("config", f"HTTP {status} from {safe_url(url)}: check the endpoint and parameters")

    def _backoff(self, retry):
        """urllib3's backoff for this retry, but never sooner than the base (it retries the first at once)."""
        return max(retry.get_backoff_time(), float(self.config["backoff_base_seconds"]))

    def _late(self, wait):
        return time.monotonic() + wait > self.deadline

    def _connect(self):
        """The pool for this run, to the endpoint's checked address; SourceError(config) when private."""
        if self.pool is None:
            try:
                target = addresses.check(self.config["endpoint"], addresses.private_allowed())
            except addresses.PrivateAddress as exc:
                raise SourceError("config", str(exc)) from None
            self.pool = pinned_pool(target, Timeout(total=self.config["timeout_seconds"]))
            self.headers["Host"] = target.host_header
        return self.pool

    def _request(self, url):
        """(status, headers, body, problem); status None when no answer came."""
        parts = urlsplit(url)
        try:
            pool = self._connect()
        except addresses.Unresolvable as exc:  # perhaps a passing DNS failure: retried like one
            return None, {}, b"", str(exc)[:300]
        try:
            response = pool.request("GET", urlunsplit(("", "", parts.path or "/", parts.query, "")),
                                    headers=self.headers, redirect=False, preload_content=False)
        except HTTPError as exc:  # refused, reset, timed out
            reason = getattr(exc, "reason", None) or exc
            return None, {}, b"", f"{type(exc).__name__}: {reason}"[:300]
        try:
            if not 200 <= response.status < 300:  # the body of an error answer is never kept
                return response.status, response.headers, b"", None
            return response.status, response.headers, _read(response), None
        except HTTPError as exc:
            return None, {}, b"", f"{type(exc).__name__}: {exc}"[:300]
        finally:
            response.release_conn()


def pinned_pool(target, timeout):
    """A connection pool to target.address alone; over https, SNI and the certificate check still use
    the host name (urllib3's server_hostname and assert_hostname), so pinning weakens nothing."""
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(target.address, target.port, timeout=timeout, maxsize=1, retries=False,
                                           server_hostname=target.host, assert_hostname=target.host)
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, maxsize=1, retries=False)


def _next(retry, url):
    """urllib3's Retry one attempt further, or None once its retries are used up."""
    try:
        return retry.increment("GET", url)
    except MaxRetryError:
        return None


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
