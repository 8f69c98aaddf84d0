"""`flask zarts send-test-event`, `portal` and `explain`: prove a connection works, see what a client
sees, and why a card's number is what it is."""
import click

from ..extensions import db
from ..models import Connection, PortalCard
from ..services.proof import portal, provenance
from ..services.setup import accounts, gate, onboarding
from .base import domain_command, emit, get_or_fail, zarts


@zarts.command("send-test-event")
@click.option("--connection", "connection_id", type=int, required=True, help="A webhook connection in draft or testing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def send_test_event(connection_id, as_json):
    """Send the provider's sample, signed with the connection's secret, through the receiving endpoint
    twice (the repeat must be a duplicate); print the answers and the test counts. Test data only."""
    connection = get_or_fail(Connection, connection_id, "connection")
    result = onboarding.send_test_event(connection, None)
    db.session.commit()
    review = gate.test_review(connection)
    data = {**result, "connection_id": connection.id, "lifecycle": connection.lifecycle, "review": review}
    counts = ", ".join(f"{review[k]} {k}" for k in gate.REVIEW_KEYS)
    later = " (the workers fill the counts in)" if result["queued"] else ""
    emit(data, as_json, f"test event {result['event_id']}: answered {', then '.join(map(str, result['statuses']))}; "
                        f"test data so far: {counts}{later}")


@zarts.command("portal")
@click.option("--client", "client_slug", required=True, help="The client's slug.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def show_portal(client_slug, as_json):
    """The client's portal as its users see it: cards, report notes and the incidents shown to them."""
    client = accounts.get_client(client_slug)
    cards = [portal.card_dict(view) for view in portal.card_views(client.id)]
    notes = [{"date": note.note_date.isoformat(), "title": note.title, "body": note.body}
             for note in portal.notes(client.id)]
    incidents = [{"since": i.opened_at.isoformat(), "summary": i.client_summary} for i in portal.incidents(client.id)]
    if as_json:
        emit({"client": {"slug": client.slug, "name": client.name}, "cards": cards, "notes": notes,
              "incidents": incidents}, True, "")
        return
    lines = [f"{client.name}: {len(cards)} card(s)"]
    for card in cards:
        change = f", {card['change']:+,g} vs baseline" if card["change"] is not None else ""
        lines.append(f"  {card['title']}: {card['value_text']} [{card['status']}{change}] {card['freshness']}"
                     + (f" Next: {card['next_action']}" if card["next_action"] else ""))
    lines += [f"  note {n['date']}: {n['title']}" for n in notes]
    lines += [f"  notice: {i['summary']}" for i in incidents]
    emit({}, False, "\n".join(lines))


@zarts.command("explain")
@click.option("--card", "card_id", type=int, required=True, help="A portal card's id.")
@click.option("--period", default=None, metavar="YYYY-MM", help="A day of the period (YYYY-MM or YYYY-MM-DD); "
                                                                 "default: the current one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def explain(card_id, period, as_json):
    """Why a card shows its number: the records counted for the period, those left out and why, the total."""
    card = get_or_fail(PortalCard, card_id, "card")
    metric = card.metric
    found = provenance.explain(metric, provenance.parse_period(metric, period))
    data = provenance.as_json(found)
    lines = [f"{metric.name}, {found['period']['label']}: {data['total'] if data['total'] is not None else 'no data'} "
             f"({metric.aggregation} of {metric.metric_name}; {found['counted_count']} counted, "
             f"{found['excluded_count']} left out)"]
    lines += [f"  + {line['value']:g}  {line['object_type']} {line['external_id']} (event {line['event_id']})"
              for line in data["counted"]]
    lines += [f"  - {line['object_type'] or 'event'} {line['external_id']} (event {line['event_id']}): {line['reason']}"
              for line in data["excluded"]]
    emit(data, as_json, "\n".join(lines))
