"""`flask zarts health`, `flask zarts sync` and `flask zarts sync-config` from scripts."""
import json

from sqlalchemy import select

from tests.factories import make_connection, signed_delivery
from tests.health.conftest import TOKEN
from zarts.extensions import db
from zarts.models import Connection, NormalizedEvent, SyncRun
from zarts.services.ingest import secrets


def zarts(runner, *args, **kwargs):
    return runner.invoke(args=["zarts", *args], **kwargs)


def one_json(result):
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def test_health_recomputes_and_prints_each_connection_with_its_reason(app, runner, client):
    quiet, _ = make_connection("stripe")
    rejected, _ = make_connection("stripe")
    paused, _ = make_connection("stripe")
    paused.lifecycle, paused.paused_reason = "paused", "client on holiday"
    db.session.commit()
    for _ in range(5):
        body, headers = signed_delivery("stripe", "whsec_wrong")
        client.post(rejected.ingest_path, data=body, headers=headers)

    data = one_json(zarts(runner, "health", "--json"))
    by_id = {row["id"]: row for row in data["connections"]}
    assert data["count"] == 3
    assert (by_id[quiet.id]["health"], by_id[quiet.id]["reason"], by_id[quiet.id]["checked"]) == (
        "awaiting", "Awaiting the first live delivery", True)
    assert by_id[rejected.id]["health"] == "error" and by_id[rejected.id]["changed_from"] == "awaiting"
    assert "rejected with a bad signature" in by_id[rejected.id]["reason"]
    assert by_id[paused.id]["checked"] is False and by_id[paused.id]["lifecycle"] == "paused"

    text = zarts(runner, "health").stdout
    assert "error: 5 deliveries rejected with a bad signature" in text and "not checked: paused" in text
    assert "(was awaiting)" not in text  # the first run recorded the change; this one changed nothing


def test_sync_runs_once_and_prints_the_counts(app, runner, fake_source, sync_connection):
    data = one_json(zarts(runner, "sync", "--connection", str(sync_connection.id), "--json"))
    assert data["status"] == "succeeded" and (data["pages"], data["fetched"], data["stored"]) == (5, 23, 23)
    assert (data["created"], data["updated"], data["failed"], data["duplicate"], data["ignored"]) == (23, 0, 0, 0, 0)
    assert data["cursor_before"] is None and data["cursor_after"].endswith("|rec_023")
    assert db.session.scalar(select(db.func.count()).select_from(NormalizedEvent)) == 23


def test_sync_test_counts_without_storing(app, runner, fake_source, sync_connection):
    data = one_json(zarts(runner, "sync", "--connection", str(sync_connection.id), "--test", "--json"))
    assert data["status"] == "succeeded" and data["created"] == 5 and data["fetched"] == 5
    assert db.session.scalar(select(db.func.count()).select_from(NormalizedEvent)) == 0
    assert db.session.scalar(select(SyncRun.mode)) == "test"


def test_a_failed_sync_prints_its_counts_and_exits_1(app, runner, fake_source, sync_connection):
    fake_source.plan(401)
    result = zarts(runner, "sync", "--connection", str(sync_connection.id), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout.strip())
    assert data["status"] == "failed" and data["error_kind"] == "auth" and TOKEN not in result.output


def test_sync_refuses_webhook_connections_and_unknown_ids(app, runner):
    stripe, _ = make_connection("stripe")
    result = zarts(runner, "sync", "--connection", str(stripe.id), "--json")
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and "not a sync connector" in result.stderr
    assert "unknown connection" in zarts(runner, "sync", "--connection", "999999").stderr


def test_sync_config_sets_settings_and_the_credential_from_stdin(app, runner):
    connection, _ = make_connection("generic_http_sync")
    result = zarts(runner, "sync-config", "--connection", str(connection.id), "--set",
                   '{"endpoint": "https://api.example.com/v1/leads", "page_size": 50}', "--credential-stdin",
                   "--json", input="sk_live_abc\n")
    data = one_json(result)
    assert data["sync_config"] == {"endpoint": "https://api.example.com/v1/leads", "page_size": 50}
    assert data["credential_changed"] is True and "sk_live_abc" not in result.output
    assert secrets.decrypt(db.session.get(Connection, connection.id).secret_encrypted) == "sk_live_abc"
    bad = zarts(runner, "sync-config", "--connection", str(connection.id), "--set", '{"endpoint": "file:///etc/passwd"}')
    assert bad.exit_code == 1 and "http or https" in bad.stderr


def test_health_thresholds_shows_sets_restores_and_resets_overrides(app, runner):
    connection, _ = make_connection("stripe")
    cid = str(connection.id)
    shown = zarts(runner, "health-thresholds", "--connection", cid)
    assert shown.exit_code == 0 and "rejections_degraded          3  (default)" in shown.output
    data = one_json(zarts(runner, "health-thresholds", "--connection", cid, "--set",
                          '{"rejections_degraded": 10, "auth_rejections_error": 2}', "--json"))
    assert data["overrides"] == {"rejections_degraded": 10, "auth_rejections_error": 2}
    assert data["thresholds"]["rejections_degraded"] == 10 and data["thresholds"]["window_seconds"] == 3600
    data = one_json(zarts(runner, "health-thresholds", "--connection", cid, "--set", '{"auth_rejections_error": null}',
                          "--json"))
    assert data["overrides"] == {"rejections_degraded": 10}
    data = one_json(zarts(runner, "health-thresholds", "--connection", cid, "--reset", "--json"))
    assert data["overrides"] == {} and data["thresholds"]["rejections_degraded"] == 3

    for bad, message in (('{"rejections_degraded": 0}', "from 1 to 100000"), ('{"nope": 1}', "unknown health threshold"),
                         ("[1]", "--set: must be a JSON object"), ("{", "--set: not valid JSON")):
        result = zarts(runner, "health-thresholds", "--connection", cid, "--set", bad)
        assert result.exit_code == 1 and message in result.stderr, (bad, result.output)
    assert zarts(runner, "health-thresholds", "--connection", "999999").exit_code == 1
    assert db.session.get(Connection, connection.id).health_thresholds == {}
