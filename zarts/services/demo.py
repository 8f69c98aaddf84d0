"""Demo data for `make run`: two clients, their users, one connection per shipped provider."""
from ..extensions import db
from ..models import User
from . import accounts, connections

ADMIN_EMAIL = "admin@demo.zartsalgo.com"
LOGINS = [
    {"role": "admin", "email": ADMIN_EMAIL, "password": "demo-admin-pass"},
    {"role": "client", "email": "maria@acme-dental.example.com", "password": "demo-client-pass"},
    {"role": "client", "email": "lee@northwind-coffee.example.com", "password": "demo-client-pass"},
]
CLIENTS = [
    ("Acme Dental", "acme-dental", [
        ("stripe", "Patient payments feed the monthly revenue card."),
        ("standard_webhooks", "Website form leads feed the new-leads card."),
        ("manual_csv_import", "Front desk exports leads from the booking tool as CSV."),
    ]),
    ("Northwind Coffee", "northwind-coffee", [
        ("shopify", "Online shop orders feed the orders and revenue cards."),
        ("github", "Site releases are reported to the client as delivery notes."),
    ]),
]


def load():
    """Create the demo records unless the demo admin already exists; True when created."""
    if db.session.scalar(db.select(User).filter_by(email=ADMIN_EMAIL)):
        return False
    connections.sync_providers()
    admin = LOGINS[0]
    accounts.create_user(admin["email"], admin["password"], "admin", name="Demo Admin")
    for (name, slug, wanted), login in zip(CLIENTS, LOGINS[1:]):
        accounts.create_client(name, slug)
        accounts.create_user(login["email"], login["password"], "client", slug)
        for provider_key, reason in wanted:
            connection, _secret = connections.create_connection(provider_key, slug, ADMIN_EMAIL, reason)
            connection.lifecycle = "active"
    db.session.flush()
    return True
