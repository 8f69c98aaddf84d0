"""Saving a connection's mapping: validated, versioned and audited."""
from ..extensions import db
from ..models import ConnectionMapping
from . import DomainError, audit, mapping


def effective_mapping(connection):
    """The connection's newest saved mapping, else its provider's default."""
    override = db.session.scalar(
        db.select(ConnectionMapping.mapping).where(ConnectionMapping.connection_id == connection.id)
        .order_by(ConnectionMapping.version.desc()).limit(1)
    )
    return override if override is not None else connection.provider.default_mapping


def save_mapping(connection, new_mapping, actor, reason=""):
    """Store new_mapping as the connection's next version; invalid mappings raise a DomainError."""
    problems = mapping.validate(new_mapping)
    if problems:
        raise DomainError("; ".join(problems))
    current = effective_mapping(connection)
    latest = max((m.version for m in connection.mappings), default=0)
    saved = ConnectionMapping(connection_id=connection.id, version=latest + 1, mapping=new_mapping,
                              created_by_id=getattr(actor, "id", None))
    db.session.add(saved)
    audit.record(actor, "mapping.save", "connection", connection.id, reason,
                 {"version": latest, "mapping": current}, {"version": latest + 1, "mapping": new_mapping})
    db.session.commit()
    return saved
