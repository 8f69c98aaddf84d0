"""A client's digest: the admin's preview and the per-client switch."""
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..models import Client, utcnow
from ..services.notify import alerts, digest
from .blueprint import bp

# The email's HTML, alone in a sandboxed frame: its inline styles only, no script, no requests.
EMAIL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'self'; sandbox")


@bp.route("/clients/<int:client_id>/digest", methods=["GET", "POST"])
def digest_preview(client_id):
    """Whether the client's digest is on, when it last went, who gets it, and what it says now;
    a POST turns it on or off."""
    client = _client_or_404(client_id)
    if request.method == "POST":
        return _switch(client)
    content = digest.build(client, utcnow())
    subject, text, _html = digest.render(client, None, content, alerts.base_url())
    subscribed, unsubscribed = digest.audience(client.id)
    return render_template("admin/digest_preview.html", client=client, subject=subject, text=text,
                           cards=len(content["cards"]), notes=len(content["notes"]), subscribed=subscribed,
                           unsubscribed=unsubscribed, every=current_app.config.get("DIGEST_EVERY_DAYS", 7))


@bp.route("/clients/<int:client_id>/digest/email")
def digest_email(client_id):
    """The digest's HTML part as the client's users would get it, for the preview's frame."""
    client = _client_or_404(client_id)
    _subject, _text, html = digest.preview(client, utcnow())
    response = make_response(html)
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _switch(client):
    """Turn the client's digest on (enabled=1) or off (enabled=0), audited."""
    enabled = request.form.get("enabled")
    if enabled not in ("0", "1"):
        abort(400)
    if digest.set_enabled(client, enabled == "1", current_user, request.form.get("reason", "").strip()):
        db.session.commit()
        flash(f"Digest turned {'on' if enabled == '1' else 'off'} for {client.name}.", "success")
    return redirect(url_for("admin.digest_preview", client_id=client.id), 303)


def _client_or_404(client_id):
    return db.session.get(Client, client_id) or abort(404)
