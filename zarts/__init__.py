"""zarts: the ZartsAlgo integration portal."""
from dotenv import load_dotenv
from flask import Flask

from .config import load_config


def create_app(test_config=None):
    """Build the app: settings from the environment, then each subsystem's init_app."""
    load_dotenv()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_config(app.instance_path, test_config))

    from . import auth, cli, errors, extensions, jobs, queues, security, sqlite, templating
    from .admin import bp as admin_bp
    from .jobs import periodic
    from .main import bp as main_bp
    from .portal import bp as portal_bp
    from .webhooks import bp as webhooks_bp

    extensions.db.init_app(app)
    sqlite.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_dir(app), render_as_batch=True, compare_type=True)
    extensions.htmx.init_app(app)
    extensions.csrf.init_app(app)
    extensions.mail.init_app(app)
    auth.init_app(app)
    queues.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    jobs.init_app(app)
    periodic.init_app(app)

    app.register_blueprint(main_bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    extensions.csrf.exempt(webhooks_bp)
    return app


def _migrations_dir(app):
    """migrations/ beside the package, wherever the app is started from."""
    import os

    return os.path.join(os.path.dirname(app.root_path), "migrations")
