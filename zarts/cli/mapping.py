"""`flask zarts suggest-mapping` and `drift`: the mapping studio from scripts."""
import click

from ..models import Connection
from ..services.mapping import drift, studio, suggest
from .base import domain_command, emit, get_or_fail, zarts


@zarts.command("suggest-mapping")
@click.option("--connection", "connection_id", type=int, required=True)
@click.option("--event-type", required=True, help="The event type to propose a rule for.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def suggest_mapping(connection_id, event_type, as_json):
    """Propose a rule for an event type from its stored deliveries, each part with why."""
    connection = get_or_fail(Connection, connection_id, "connection")
    found, count = studio.suggestions(connection, event_type)
    try:
        rule = suggest.as_rule(found)
    except ValueError as exc:
        rule, problem = None, str(exc)
    else:
        problem = None
    data = {"connection_id": connection.id, "event_type": event_type, "samples": count, "rule": rule,
            "problem": problem, "suggestions": [{"target": s.target, "expression": s.expression, "why": s.why,
                                                 **({"extra": s.extra} if s.extra else {})} for s in found]}
    human = "\n".join(f"{s.target:<24} {s.expression}\n{'':<24} {s.why}" for s in found)
    emit(data, as_json, f"{count} stored {event_type} deliveries:\n{human}" + (f"\n{problem}" if problem else ""))


@zarts.command("drift")
@click.option("--connection", "connection_id", type=int, help="Only this connection.")
@click.option("--all", "everything", is_flag=True, help="Accepted and fixed findings too, not only open ones.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@domain_command
def drift_findings(connection_id, everything, as_json):
    """Schema drift findings: what providers changed in what they send."""
    if connection_id is not None:
        get_or_fail(Connection, connection_id, "connection")
    rows = drift.findings(connection_id) if everything else drift.open_findings(connection_id)
    data = {"findings": [drift.finding_dict(f) for f in rows]}
    human = "\n".join(f"{f.id}  {f.status:<8}  connection {f.connection_id}  {f.summary}" for f in rows)
    emit(data, as_json, human or "no drift findings")
