"""POST /webhooks/<provider_key>/<connection_key>."""
from flask import jsonify

from . import bp


@bp.route("/<provider_key>/<connection_key>", methods=["POST"])
def webhook_receive(provider_key, connection_key):
    """Receipt is built in the webhook-receipt issue; until then nothing is accepted."""
    return jsonify({"error": "webhook receipt is not enabled yet"}), 404
