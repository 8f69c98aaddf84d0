"""The mapping studio: the field picker from stored deliveries, suggestions, a preview on many events, CLI."""
import json
import re
import uuid
from html import unescape

from tests.admin.test_mapping_editor import HX
from tests.factories import deliver, make_connection
from tests.providers.realworld import payload
from zarts.extensions import db
from zarts.models import ConnectionMapping, NormalizedEvent

PR_TYPE = "pull_request"


def github_prs(client, connection, secret, n=3):
    """Real pull_request deliveries (octokit's examples), with distinct ids."""
    for i in range(n):
        body = payload("github/pull_request__opened")
        body["pull_request"]["id"] = 9000 + i
        deliver(client, connection, secret, event_type=PR_TYPE, payload=body, msg_id=str(uuid.uuid4()))


def without_pr_rule(connection, admin):
    from zarts.services.mapping import versions

    mapping = json.loads(json.dumps(versions.effective_mapping(connection)))
    mapping["events"].pop(PR_TYPE, None)
    versions.save_mapping(connection, mapping, admin, "start without a pull request rule")
    return mapping


def test_build_a_rule_by_picking_paths_preview_it_and_save_it(app, client, admin):
    connection, secret = make_connection("github", owner=admin, live=True)
    mapping = without_pr_rule(connection, admin)
    github_prs(client, connection, secret)
    assert db.session.scalar(db.select(db.func.count()).select_from(NormalizedEvent)) == 0  # no rule: ignored
    base = f"/admin/connections/{connection.id}/mapping"
    paths = client.get(f"{base}/paths?event_type={PR_TYPE}", headers=HX).get_data(as_text=True)
    assert "pull_request.id" in paths and "pull_request.state" in paths and "100%" in paths
    draft = mapping
    for path, target in (("pull_request.id", "external_id"), ("pull_request.state", "status"),
                         ("pull_request.updated_at", "occurred_at"), ("pull_request.title", "field")):
        html = client.post(f"{base}/pick", headers=HX, data={"mapping_json": json.dumps(draft), "event_type": PR_TYPE,
                                                               "path": path, "target": target}).get_data(as_text=True)
        assert "Not saved yet" in html
        draft = json.loads(unescape(re.search(r'<textarea[^>]*name="mapping_json"[^>]*>(.*?)</textarea>', html,
                                              re.S).group(1)))
    rule = draft["events"][PR_TYPE]
    assert (rule["external_id"], rule["status"], rule["fields"]["title"]) == (
        "pull_request.id", "pull_request.state", "pull_request.title")
    preview = client.post(f"{base}/preview-many", headers=HX,
                          data={"mapping_json": json.dumps(draft), "event_type": PR_TYPE}).get_data(as_text=True)
    assert "nothing is written" in preview and ">3</dd>" in preview
    assert db.session.scalar(db.select(db.func.count()).select_from(NormalizedEvent)) == 0
    saved = client.post(base, headers=HX, data={"mapping_json": json.dumps(draft), "reason": "map pull requests"})
    assert "Saved as version 2" in saved.get_data(as_text=True)
    assert db.session.scalar(db.select(ConnectionMapping).filter_by(version=2)).mapping["events"][PR_TYPE] == rule


def test_suggest_a_rule_from_the_stored_deliveries(app, client, admin, runner):
    connection, secret = make_connection("github", owner=admin, live=True)
    mapping = without_pr_rule(connection, admin)
    github_prs(client, connection, secret)
    html = client.post(f"/admin/connections/{connection.id}/mapping/suggest", headers=HX,
                       data={"mapping_json": json.dumps(mapping), "event_type": PR_TYPE}).get_data(as_text=True)
    assert "From 3 stored deliveries" in html and "pull_request.id" in html
    result = runner.invoke(args=["zarts", "suggest-mapping", "--connection", str(connection.id), "--event-type",
                                 PR_TYPE, "--json"])
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["samples"] == 3
    assert data["rule"]["external_id"] == "pull_request.id" and data["rule"]["status"] == "pull_request.state"
    missing = runner.invoke(args=["zarts", "suggest-mapping", "--connection", str(connection.id), "--event-type",
                                  "nope", "--json"])
    assert missing.exit_code == 1 and missing.output.startswith("error: no stored deliveries of type 'nope'")


def test_the_drift_cli_lists_findings(app, runner):
    result = runner.invoke(args=["zarts", "drift", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"findings": []}
    assert runner.invoke(args=["zarts", "drift", "--connection", "999"]).output == "error: unknown connection 999\n"
