"""POST /webhooks/<provider_key>/<connection_key>: the provider-facing contract."""
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..services.imports import csv_delivery
from ..services.ingest import outbox, receipt

bp = Blueprint("webhooks", __name__)

RETRY_AFTER_SECONDS = "30"


@bp.route("/<provider_key>/<connection_key>", methods=["POST"])
def webhook_receive(provider_key, connection_key):
    """Verify, dedupe and store one delivery; 202 accepted, 200 duplicate, 4xx with a reason."""
    try:
        if csv_delivery.is_csv(request.content_type):
            result = csv_delivery.receive(provider_key, connection_key, request.headers, request.stream,
                                          request.content_length)
        else:
            result = receipt.receive(
                provider_key, connection_key, request.headers, request.stream.read,
                request.content_type or "", request.content_length,
            )

    except receipt.Rejection as rejection:
        return _reject(rejection)
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("webhook not stored: database unavailable", exc_info=True)
        response = jsonify({"error": "temporarily unable to store the event; retry later"})
        response.status_code, response.headers["Retry-After"] = 503, RETRY_AFTER_SECONDS
        return response
    if result.status == 202 and result.event_id is not None:
        outbox.notify(result.event_id)
    return jsonify(result.body), result.status


def _reject(rejection):
    if rejection.counted:
        try:
            receipt.count_rejection(rejection.connection_id, rejection.reason, rejection.status)
        except SQLAlchemyError:
            db.session.rollback()  # the answer to the sender matters more than the counter
    response = jsonify({"error": rejection.reason})
    response.status_code = rejection.status
    if rejection.retry_after:
        response.headers["Retry-After"] = str(rejection.retry_after)
    return response
