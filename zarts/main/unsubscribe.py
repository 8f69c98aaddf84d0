"""One-click unsubscribe from the client digest: the link in each email names one user, and the
signed token is the proof (no login, no CSRF token: mail clients POST it themselves)."""
from flask import render_template, request

from ..errors import render_error
from ..extensions import csrf
from ..models import utcnow
from ..services.notify import digest
from .routes import bp

BAD_LINK = "This unsubscribe link is not valid. Check that you opened the whole address from the email."


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def digest_unsubscribe(token):
    """GET: ask; POST (the button, or the mail client's one-click): stop the digest for this user only."""
    user = digest.user_for_token(token)
    if user is None:
        return render_error(404, BAD_LINK)
    if request.method == "POST":
        digest.unsubscribe(user, utcnow())
    return render_template("main/unsubscribe.html", user=user, token=token,
                           unsubscribed=user.digest_unsubscribed_at is not None)


@bp.route("/unsubscribe/<token>/undo", methods=["POST"])
def digest_resubscribe(token):
    """Subscribe again, from the confirmation page."""
    user = digest.user_for_token(token)
    if user is None:
        return render_error(404, BAD_LINK)
    digest.resubscribe(user)
    return render_template("main/unsubscribe.html", user=user, token=token, unsubscribed=False, resubscribed=True)
