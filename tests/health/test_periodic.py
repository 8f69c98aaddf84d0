"""The periodic loop's paced tasks: the health check and the sync scheduler, each at its own pace."""
from sqlalchemy import func, select

from tests.factories import drain, make_connection, signed_delivery
from tests.health.conftest import set_active
from zarts.extensions import db
from zarts.jobs import periodic
from zarts.models import Connection, SyncRun


def test_a_round_checks_health_and_starts_due_syncs_once_per_interval(app, client, fake_source, sync_connection):
    set_active(sync_connection)
    webhook, _ = make_connection("stripe")
    for _ in range(5):
        body, headers = signed_delivery("stripe", "whsec_wrong")
        assert client.post(webhook.ingest_path, data=body, headers=headers).status_code == 401
    periodic._paced_tasks(app)
    drain()
    db.session.expire_all()
    assert db.session.get(Connection, webhook.id).health == "error"
    run = db.session.scalar(select(SyncRun))
    assert (run.mode, run.status, run.stored) == ("scheduled", "succeeded", 23)

    db.session.delete(run)  # were the scheduler to run again now, this connection would be due again
    db.session.commit()
    periodic._paced_tasks(app)  # within the interval: neither task runs
    drain()
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
