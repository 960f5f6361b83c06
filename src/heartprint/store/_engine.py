"""Database URLs, engines and schema migrations (Alembic, run programmatically)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from heartprint.errors import InvalidInputError

__all__ = ["MIGRATIONS", "make_engine", "migration_lock", "normalize_url", "upgrade"]

#: Folder of the Alembic environment and revisions shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``).
WRITE_OPTION = "heartprint_write"
#: PostgreSQL advisory lock key held while the schema is migrated (the bytes "hprtmig1").
PG_MIGRATION_LOCK = int.from_bytes(b"hprtmig1", "big") & 0x7FFFFFFFFFFFFFFF


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy URL for ``url``.

    A plain path (no ``://``) is a SQLite file; ``postgresql://`` uses psycopg 3
    (``postgresql+psycopg://``). Anything else is passed through.
    """
    text = str(url)
    if "://" not in text:
        if not text:
            raise InvalidInputError("registry URL '': expected a database URL or a SQLite file path")
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise InvalidInputError(f"registry URL {text!r}: not a database URL ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_transactions(engine: Engine) -> None:
    """Real transactions and foreign keys on SQLite (pysqlite otherwise defers BEGIN and
    ignores REFERENCES); recipe from the SQLAlchemy SQLite dialect documentation."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        # A writer takes the write lock up front, so two writers queue (busy timeout)
        # instead of one failing when it upgrades a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def make_engine(url: str | Path) -> Engine:
    """An engine for ``url`` (see :func:`normalize_url`); SQLite waits up to 30 s for a lock."""
    full = normalize_url(url)
    if full.startswith("sqlite"):
        engine = create_engine(full, connect_args={"timeout": 30})
        _sqlite_transactions(engine)
        return engine
    return create_engine(full, pool_pre_ping=True)


def _alembic_config(connection=None):  # noqa: ANN001, ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (``None``: not SQLite, or in memory)."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<registry file>.lock`` (``fcntl.flock``) while the schema of a
    SQLite registry is created or changed, so that two processes opening a new registry at once
    migrate it one after the other (the second finds it at head) instead of racing on ``CREATE
    TABLE`` or failing with "database is locked". No lock for PostgreSQL (DDL is transactional
    there) or where the lock file cannot be made (a read-only folder: nothing can be migrated
    there anyway, and SQLite's busy timeout still applies)."""
    db = _sqlite_file(engine)
    if db is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(f"{db}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def upgrade(url: str | Path | Engine, revision: str = "head") -> None:
    """Bring the registry at ``url`` to ``revision`` (``alembic upgrade head``).

    Creates the tables on an empty database; a database already at head is left as is.
    This is the only way heartprint creates or changes its schema. Safe when several processes
    open a new registry at once: on SQLite the migration runs under :func:`migration_lock` and in
    a write transaction taken up front (``BEGIN IMMEDIATE``, waiting out the busy timeout); on
    PostgreSQL under a transaction-level advisory lock (:data:`PG_MIGRATION_LOCK`), so the later
    processes find the schema at head.
    """
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with migration_lock(engine), engine.execution_options(**{WRITE_OPTION: True}).connect() as connection:
            if connection.dialect.name == "postgresql":  # held until the migration's transaction ends
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
            command.upgrade(_alembic_config(connection), revision)
            connection.commit()
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(url: str | Path | Engine) -> str | None:
    """The registry's Alembic revision (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not url:
            engine.dispose()
