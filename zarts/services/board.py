"""Read models for the admin health board."""
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Connection


def connections_for_board():
    """Every connection with its client, provider and owner loaded in one query."""
    query = (
        db.select(Connection)
        .options(joinedload(Connection.client), joinedload(Connection.provider), joinedload(Connection.owner))
        .order_by(Connection.id)
    )
    return list(db.session.scalars(query))
