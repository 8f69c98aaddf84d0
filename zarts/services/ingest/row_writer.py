"""Multi-row INSERTs rendered once per shape, for the webhook hot path.

Building and compiling an insert() for every group of deliveries cost more CPU than the database
round trip itself (bench/ingest.py, docs/PERFORMANCE.md). Here the SQL text for each (table,
columns, row count) is rendered once per dialect, each column's own bind processor converts the
values (JSON, UTC datetimes, blobs) exactly as a compiled insert would, and `exec_driver_sql`
keeps SQLAlchemy's transaction, error wrapping (IntegrityError, OperationalError) and disconnect
handling.
"""
import functools


def insert_returning_ids(conn, table, columns, rows):
    """Insert `rows` (dicts keyed by `columns`) in one statement; their new ids, in row order.

    Needs INSERT ... RETURNING (MariaDB 10.5+, SQLite 3.35+: see `can_return_ids`). Auto-increment
    ids rise in VALUES order within one statement, so sorting them gives the rows' order whatever
    order the database returns them in.
    """
    sql = _sql(table, columns, conn.dialect, len(rows), returning=True)
    ids = conn.exec_driver_sql(sql, tuple(v for row in _values(table, columns, conn.dialect, rows) for v in row))
    return sorted(row[0] for row in ids)


def insert_one(conn, table, columns, row):
    """Insert one row; its new id."""
    sql = _sql(table, columns, conn.dialect, 1, returning=False)
    return conn.exec_driver_sql(sql, _values(table, columns, conn.dialect, [row])[0]).lastrowid


def insert_many(conn, table, columns, rows):
    """Insert `rows` with the driver's executemany (PyMySQL sends them as multi-row INSERTs)."""
    sql = _sql(table, columns, conn.dialect, 1, returning=False)
    conn.exec_driver_sql(sql, _values(table, columns, conn.dialect, rows))


def can_return_ids(dialect):
    """Whether the database returns generated ids from a multi-row INSERT."""
    return bool(dialect.insert_returning and dialect.insert_executemany_returning_sort_by_parameter_order)


def _values(table, columns, dialect, rows):
    processors = _processors(table, columns, dialect)
    return [tuple(p(row[c]) if p else row[c] for c, p in zip(columns, processors)) for row in rows]


@functools.lru_cache(maxsize=64)
def _processors(table, columns, dialect):
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)


@functools.lru_cache(maxsize=512)
def _sql(table, columns, dialect, row_count, returning):
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one_row = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(quote(name) for name in columns)}) VALUES {', '.join([one_row] * row_count)}")
    if returning:
        sql += f" RETURNING {quote(table.primary_key.columns[0].name)}"
    return sql
