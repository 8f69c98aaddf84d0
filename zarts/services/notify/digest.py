"""The client digest: a periodic email to each of a client's users with their cards and the report
notes published since the last one, built from the portal's client-safe views only (never a payload
value, never admin-only data); the admin's preview and switch; one-click unsubscribe per user."""
from datetime import timedelta

from flask import current_app, render_template
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import or_, select, update

from ...extensions import db
from ...models import Client, Notification, ReportNote, User
from ...templating import amount, signed, unit_for
from .. import audit
from ..proof import portal
from .alerts import base_url

NOTES_SHOWN = 10
TOKEN_SALT = "digest-unsubscribe"
SAMPLE_RECIPIENT = "the client's users"
SUBJECT = "{name} · your week in numbers"


def build(client, now):
    """What a digest says: the client's visible cards and the notes published since the last digest,
    as plain strings (the templates never see a model)."""
    return {"client_name": client.name, "since": client.digest_sent_at, "now": now,
            "cards": [_card(view) for view in portal.card_views(client.id)], "notes": _notes(client)}


def render(client, user, content, base_url):
    """(subject, text, html) of the digest for user (None: the admin's sample recipient, the unsubscribe
    link inert)."""
    context = {**content, "user_name": user.name if user else "", "recipient": user.email if user else SAMPLE_RECIPIENT,
               "portal_url": portal_url(base_url), "unsubscribe_url": unsubscribe_url(user, base_url) if user else "#"}
    subject = " ".join(SUBJECT.format(name=client.name).split())
    context["subject"] = subject
    return subject, render_template("notify/digest.txt", **context), render_template("notify/digest.html", **context)


def portal_url(base_url):
    return f"{base_url}/portal/"


def unsubscribe_url(user, base_url):
    """The user's one-click unsubscribe link: the token is the proof, no login needed."""
    return f"{base_url}/unsubscribe/{_serializer().dumps(user.id)}"


def user_for_token(token):
    """The user an unsubscribe token names, or None for a bad token."""
    try:
        user_id = _serializer().loads(token)
    except BadData:
        return None
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def unsubscribe(user, now):
    """Stop the digest for this user only (keeps the first time they asked). Commits."""
    if user.digest_unsubscribed_at is None:
        user.digest_unsubscribed_at = now
        db.session.commit()


def resubscribe(user):
    """Send this user the digest again. Commits."""
    user.digest_unsubscribed_at = None
    db.session.commit()


def audience(client_id):
    """(subscribed, unsubscribed): the client's active client users, by whether they get the digest."""
    users = db.session.scalars(select(User).where(User.client_id == client_id, User.role == "client",
                                                  User.active.is_(True)).order_by(User.email)).all()
    return ([u for u in users if u.digest_unsubscribed_at is None],
            [u for u in users if u.digest_unsubscribed_at is not None])


def set_enabled(client, enabled, actor, reason=""):
    """Turn the client's digest on or off, audited; False when it already was. In the current transaction."""
    if client.digest_enabled == enabled:
        return False
    before = {"digest_enabled": client.digest_enabled}
    client.digest_enabled = enabled
    audit.record(actor, "client.digest", "client", client.id, reason, before, {"digest_enabled": enabled})
    return True


def preview(client, now):
    """(subject, text, html) as the client's users would get it now, for the admin."""
    return render(client, None, build(client, now), base_url())


def queue_due(now):
    """One pending digest per subscribed user of each client whose digest is due and has a card;
    the number of rows. Each client is claimed in the database first, so two runs never queue it twice."""
    cutoff = now - timedelta(days=current_app.config.get("DIGEST_EVERY_DAYS", 7))
    due = db.session.scalars(select(Client).where(
        Client.digest_enabled.is_(True), or_(Client.digest_sent_at.is_(None), Client.digest_sent_at <= cutoff))
        .order_by(Client.id)).all()
    readers = _subscribed_by_client([client.id for client in due])
    links, queued = base_url(), 0
    for client in due:
        users = readers.get(client.id)
        content = build(client, now) if users else None
        if not users or not content["cards"] or not _claim(client, cutoff, now):
            continue
        for user in users:
            subject, text, html = render(client, user, content, links)
            db.session.add(Notification(
                kind="digest", user_id=user.id, client_id=client.id, subject=subject, body=text, html=html,
                link=portal_url(links), status="pending", due_at=now,
                facts={"unsubscribe_url": unsubscribe_url(user, links), "cards": len(content["cards"]),
                       "notes": len(content["notes"])}))
            queued += 1
    db.session.commit()
    return queued


def _claim(client, cutoff, now):
    """Set digest_sent_at only if the digest is still due: False when another run got there first."""
    claimed = db.session.execute(update(Client).where(
        Client.id == client.id, Client.digest_enabled.is_(True),
        or_(Client.digest_sent_at.is_(None), Client.digest_sent_at <= cutoff)).values(digest_sent_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if claimed:
        client.digest_sent_at = now
    return claimed


def _subscribed_by_client(client_ids):
    users = db.session.scalars(select(User).where(
        User.client_id.in_(client_ids), User.role == "client", User.active.is_(True),
        User.digest_unsubscribed_at.is_(None)).order_by(User.id)).all() if client_ids else []
    grouped = {}
    for user in users:
        grouped.setdefault(user.client_id, []).append(user)
    return grouped


def _card(view):
    """One card in plain words, as the portal card shows it."""
    card, metric = view.card, view.metric
    value = None if card.current_value is None else \
        f"{amount(card.current_value)} {unit_for(card.current_value, metric.unit)}".strip()
    baseline = amount(card.baseline_value)
    if card.baseline_value is not None and metric.baseline_label:
        baseline += f" ({metric.baseline_label})"
    elif card.baseline_value is not None and metric.baseline_mode == "previous_period":
        baseline += f" (previous {metric.period})"
    change = None
    if view.change is not None:
        change = signed(view.change, 0 if view.change == round(view.change) else 2)
        if view.change_pct is not None:
            change += f" ({signed(view.change_pct, 1)}%)"
    return {"title": card.title, "meaning": metric.client_meaning or "", "value": value or portal.NO_DATA,
            "has_value": value is not None, "period": view.period_label, "baseline": baseline,
            "change": change or "—", "status": card.status, "status_label": view.status_label,
            "next_action": metric.next_action or "", "freshness": view.freshness, "fresh": view.freshness_tone,
            "source": view.source}


def _notes(client):
    """Published, visible notes newer than the last digest, newest first (a draft approved since counts too)."""
    query = select(ReportNote).where(ReportNote.client_id == client.id, ReportNote.visible.is_(True),
                                     ReportNote.status == "published")
    if client.digest_sent_at is not None:
        sent = client.digest_sent_at
        query = query.where(or_(ReportNote.created_at > sent, ReportNote.note_date > sent.date()))
    query = query.order_by(ReportNote.note_date.desc(), ReportNote.id.desc()).limit(NOTES_SHOWN)
    return [{"title": note.title, "body": note.body or "", "date": note.note_date.strftime("%b %d, %Y")}
            for note in db.session.scalars(query)]


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)
