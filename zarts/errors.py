"""Error pages for people, JSON errors for machines."""
from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is nothing here.",
    405: "That action is not allowed here.",
    413: "What you sent is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged.",
}


def _wants_json():
    return request.path.startswith(("/webhooks/", "/healthz"))


def render_error(status, message):
    """One place that renders an error, as JSON for machines and HTML for people."""
    if _wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app):
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "Your form expired or was not sent from this site. Reload and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return render_error(exc.code, MESSAGES.get(exc.code, exc.description))

    @app.errorhandler(500)
    def server_error(exc):
        return render_error(500, MESSAGES[500])
