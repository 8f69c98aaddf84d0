"""`flask zarts set-password`: the password from standard input, every session of the user revoked."""
from tests.factories import PASSWORD, make_user
from tests.test_cli import assert_one_line_error, one_json_object, zarts
from zarts.extensions import db
from zarts.models import AdminAction, User


def set_password(runner, *args, password="a-new-long-password"):
    return runner.invoke(args=["zarts", "set-password", *args], input=password + "\n")


def test_set_password_reads_stdin_and_revokes_sessions(app, runner):
    user = make_user("client")
    before = user.get_id()
    data = one_json_object(set_password(runner, "--email", user.email.upper(), "--password-stdin", "--json"))
    assert data == {"id": user.id, "email": user.email, "sessions_revoked": True}
    db.session.expire_all()
    changed = db.session.get(User, user.id)
    assert changed.check_password("a-new-long-password") and not changed.check_password(PASSWORD)
    assert changed.get_id() != before
    assert db.session.scalar(db.select(AdminAction).filter_by(action="user.change_password", target_id=str(user.id)))


def test_set_password_keeps_spaces_inside_the_password(app, runner):
    user = make_user("admin")
    result = set_password(runner, "--email", user.email, "--password-stdin", password="  spaced out  ")
    assert result.exit_code == 0, result.output
    assert "logged out" in result.stdout
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("  spaced out  ")


def test_set_password_errors_are_one_line(app, runner):
    user = make_user("admin")
    assert_one_line_error(set_password(runner, "--email", "nobody@example.com", "--password-stdin"), "unknown user")
    assert_one_line_error(set_password(runner, "--email", user.email, "--password-stdin", password="short"),
                          "at least 8")
    assert_one_line_error(set_password(runner, "--email", user.email), "--password-stdin")
    assert_one_line_error(zarts(runner, "set-password", "--password-stdin"), "--email")
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)
