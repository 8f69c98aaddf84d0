"""CSV files delivered by webhook: a signed text/csv body at a CSV connection's ingest URL.

The body is spooled (memory up to 1 MiB, then a temporary file) and its Standard Webhooks
signature checked before anything is stored, so a forged delivery leaves no trace but the
rejection count. A genuine one becomes an import that checks and imports itself (csv_run); a
redelivery, by its webhook-id or by the same file content under a new id, is a duplicate.
"""
import hashlib
import re
import tempfile

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import CsvImport
from ..ingest import receipt, signatures, targets, webhook_limits
from ..ingest.receipt import Receipt, Rejection
from . import csv_import, csv_parse

CSV_TYPES = ("text/csv", "application/csv")
SPOOL_BYTES = 1 << 20
READ_BYTES = 64 * 1024
FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


def is_csv(content_type):
    """True for a text/csv (or application/csv) body."""
    return (content_type or "").split(";", 1)[0].strip().lower() in CSV_TYPES


def receive(provider_key, connection_key, headers, stream, content_length):
    """Answer one CSV delivery: 202 with the import id once the file is stored, 200 for a duplicate, 4xx."""
    target = targets.lookup(provider_key, connection_key)
    if target is None:
        raise Rejection(404, "unknown provider or connection")
    if target.kind != "csv":
        raise Rejection(415, "content type must be application/json", target.connection_id, counted=True)
    if target.lifecycle == "disconnected":
        raise Rejection(410, "connection is disconnected", target.connection_id)
    if target.lifecycle == "paused":  # the sender retries; the file is taken once the connection resumes
        raise Rejection(409, "connection is paused; it takes files again once it is resumed", target.connection_id)
    limit = current_app.config["CSV_MAX_BYTES"]
    if content_length is not None and content_length > limit:
        raise Rejection(413, f"file larger than {limit} bytes", target.connection_id, counted=True)
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
        sha256 = _spool(stream, spool, limit, target.connection_id)
        target = receipt.verified(target, lambda t: _check(t, spool, headers))
        try:
            webhook_limits.hit(target.connection_id, target.rate_limit_per_minute)
        except webhook_limits.Throttled as exc:
            raise Rejection(429, "rate limit exceeded", target.connection_id, counted=True,
                            retry_after=exc.retry_after) from exc
        delivery_id = headers.get("webhook-id", "").strip()[:200]
        if (earlier := _delivered(target.connection_id, delivery_id)) is not None:
            return _duplicate(earlier, "this delivery was received before")
        if (earlier := same_file(target.connection_id, sha256)) is not None:
            return _duplicate(earlier, "the same file was delivered or imported before")
        spool.seek(0)
        try:
            imp = csv_import.upload(target.connection_id, _filename(headers, delivery_id), spool,
                                    source="webhook", delivery_id=delivery_id)
        except csv_parse.FileProblem as exc:
            raise Rejection(413 if isinstance(exc, csv_parse.FileTooLarge) else 422, str(exc),
                            target.connection_id, counted=True) from exc
        except IntegrityError:  # the same delivery, stored by a concurrent request a moment ago
            db.session.rollback()
            return _duplicate(_delivered(target.connection_id, delivery_id), "this delivery was received before")
    csv_import.start_delivered(imp)
    return Receipt(202, {"status": "accepted", "import_id": imp.id})


def _spool(stream, spool, limit, connection_id):
    """Copy the body into the spool; its SHA-256."""
    size, digest = 0, hashlib.sha256()
    while chunk := stream.read(READ_BYTES):
        size += len(chunk)
        if size > limit:
            raise Rejection(413, f"file larger than {limit} bytes", connection_id, counted=True)
        spool.write(chunk)
        digest.update(chunk)
    return digest.hexdigest()


def _check(target, spool, headers):
    """Check the signature over the spooled body (read back in pieces); SignatureError when it fails."""
    verifier = signatures.Verifier(target.scheme, headers, target.valid_secrets())
    spool.seek(0)
    while chunk := spool.read(READ_BYTES):
        verifier.update(chunk)
    verifier.verify()


def _delivered(connection_id, delivery_id):
    return db.session.scalar(select(CsvImport).where(CsvImport.connection_id == connection_id,
                                                     CsvImport.delivery_id == delivery_id)) if delivery_id else None


def same_file(connection_id, sha256):
    """An earlier delivery or import of the same content into the same connection that counts: imported,
    importing, or a delivery still on its way (not one that failed, nor an upload never confirmed)."""
    return db.session.scalar(
        select(CsvImport).where(
            CsvImport.connection_id == connection_id, CsvImport.sha256 == sha256,
            CsvImport.status.in_(("importing", "done")) | (CsvImport.auto_import.is_(True)
                                                          & (CsvImport.status != "failed")))
        .order_by(CsvImport.id).limit(1))


def _duplicate(earlier, reason):
    return Receipt(200, {"status": "duplicate", "import_id": earlier.id, "reason": reason})


def _filename(headers, delivery_id):
    """The file name the sender gave (Content-Disposition), else one made from the delivery id."""
    match = FILENAME.search(headers.get("Content-Disposition", ""))
    name = match.group(1).strip() if match else ""
    return name or f"delivery-{re.sub(r'[^A-Za-z0-9_.-]+', '-', delivery_id)[:60] or 'file'}.csv"
