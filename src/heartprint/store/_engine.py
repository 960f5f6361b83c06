"""Database URLs, engines and schema migrations (Alembic, run programmatically)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from heartprint.errors import InvalidInputError

__all__ = ["MIGRATIONS", "make_engine", "normalize_url", "upgrade"]

#: Folder of the Alembic environment and revisions shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``).
WRITE_OPTION = "heartprint_write"


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


def upgrade(url: str | Path | Engine, revision: str = "head") -> None:
    """Bring the registry at ``url`` to ``revision`` (``alembic upgrade head``).

    Creates the tables on an empty database; a database already at head is left as is.
    This is the only way heartprint creates or changes its schema.
    """
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.connect() as connection:
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
