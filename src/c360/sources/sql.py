"""SQL sources: a table or query in any database SQLAlchemy reaches, read as text with a quarantine.

Every value arrives as text (or null): c360 standardises values itself, so numbers keep their
digits (`12.50`) and dates and times are ISO 8601 (`2024-03-01`, `2024-03-01T09:30:00`). Counts
balance: every row the database returns is either in `table` or in `quarantined` with a reason
that names the column.

Incremental reading by watermark. A source with an `updated_at` column is read in full once; the
result carries `watermark`, the largest `updated_at` seen, as ISO text. Store it and pass it back
as `since` next time: only rows with `updated_at > since` are read, as a bound parameter (a query
is wrapped as a subquery to add the filter; MariaDB then ignores an ORDER BY inside it, so row
numbers in the quarantine follow the server's order). When nothing newer exists the watermark
stays `since`, so storing it again is always right. Quarantined rows count towards the watermark:
a bad row is read again once its source fixes it, which moves its `updated_at`. Two limits follow
from a strict `>` on a column the source system maintains: rows whose `updated_at` is null are
only read by full reads, and a row committed later with a timestamp equal to or older than the
watermark (a long transaction, a clock step back) is missed — a periodic full read catches both.

    >>> loc = SqlLocation(url="postgresql+psycopg://crm-db/crm", table="contacts")
    >>> first = read_sql(loc, source="crm", id_column="id", updated_at="modified")  # doctest: +SKIP
    >>> later = read_sql(loc, source="crm", id_column="id", updated_at="modified",
    ...                  since=first.watermark)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.sql.sqltypes import NullType

from c360.errors import SourceError
from c360.project.config import SqlLocation

__all__ = ["SqlRead", "read_sql"]

# Import name of a missing driver → the install line that provides it.
_DRIVER_INSTALL = {
    "psycopg": 'pip install "psycopg[binary]"',
    "psycopg2": "pip install psycopg2-binary",
    "pymysql": "pip install pymysql",
    "MySQLdb": "pip install mysqlclient",
    "mysql": "pip install mysql-connector-python",
    "pyodbc": "pip install pyodbc",
    "oracledb": "pip install oracledb",
    "pymssql": "pip install pymssql",
    "snowflake": "pip install snowflake-sqlalchemy",
}
# Drivers whose libraries otherwise wait for the operating system's TCP timeout (minutes, or
# forever for libpq) on a host that drops packets; a user should hear about it in seconds.
_CONNECT_TIMEOUT_ARG = {"psycopg": "connect_timeout", "psycopg2": "connect_timeout",
                        "pymysql": "connect_timeout", "mysqldb": "connect_timeout"}  # fmt: skip
_CONNECT_TIMEOUT_S = 10
# `text()` reads `:name` as a bind parameter; a user's query binds nothing, so a colon in it
# (a literal 'at :noon') is escaped to stay literal. Same pattern as SQLAlchemy's, minus escapes.
_TEXT_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
_MAX_LISTED = 30
# A table column's Python type → how the watermark text becomes a value of that type.
_SINCE_PARSERS: dict[type, Callable[[str], object]] = {
    dt.datetime: dt.datetime.fromisoformat,
    dt.date: dt.date.fromisoformat,
    int: int,
    float: float,
    Decimal: Decimal,
}


@dataclass(frozen=True)
class SqlRead:
    """What one read returned: accepted rows as text, the quarantine, the next watermark.

    `quarantined` holds (row number in the result, 1-based in the database's order; reason).
    `watermark` is None when the source has no `updated_at` or no row has one yet.
    """

    table: pa.Table
    rows_read: int
    quarantined: list[tuple[int, str]]
    watermark: str | None


def read_sql(
    location: SqlLocation,
    *,
    source: str,
    id_column: str,
    updated_at: str | None = None,
    since: str | None = None,
    batch_size: int = 50_000,
) -> SqlRead:
    """Stream a table or query in batches into an all-text Arrow table.

    Raises `SourceError` naming the source for anything a user can fix: a missing driver, a
    server that cannot be reached, a missing table or column, a query the database rejects.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if since is not None and updated_at is None:
        raise ValueError("`since` filters on `updated_at`; give the column too")
    engine = _create_engine(location.url, source)
    try:
        with _connect(engine, source) as conn:
            stmt, columns = _statement(conn, location, source, id_column, updated_at, since)
            return _stream(conn, stmt, columns, source, id_column, updated_at, since, batch_size)
    finally:
        # One engine per read: close its pool so no idle connection outlives the read.
        engine.dispose()


def read_ids(location: SqlLocation, *, source: str, id_column: str) -> list[str | None]:
    """Every id the source holds now, in the order a full read returns rows (for a table, by
    id): with a read by watermark, what tells an incremental run which records are gone."""
    engine = _create_engine(location.url, source)
    try:
        with _connect(engine, source) as conn:
            stmt, _ = _statement(conn, location, source, id_column, None, None)
            column: sa.ColumnClause[Any] = sa.column(id_column)
            if isinstance(stmt, sa.TextClause):
                ids = sa.select(column).select_from(stmt.columns().subquery("c360_ids"))
            else:
                assert isinstance(stmt, sa.Select)
                ids = sa.select(column).select_from(stmt.subquery("c360_ids")).order_by(column)
            result = _execute(conn, ids, source, "read ids")
            return [_text(v) for (v,) in result.fetchall()]
    finally:
        engine.dispose()


def _create_engine(url_text: str, source: str) -> Engine:
    try:
        url = sa.make_url(url_text)
    except (sa_exc.ArgumentError, ValueError):
        # The unparsed text may hold a password, so it is not repeated here.
        raise SourceError(
            f"source {source!r}: the SQL url is not a valid SQLAlchemy URL",
            hint="write it as dialect+driver://user:password@host:port/database,"
            " e.g. postgresql+psycopg://me@db.example.com:5432/crm",
        ) from None
    shown = url.render_as_string(hide_password=True)
    try:
        driver = url.get_dialect().driver
        arg = _CONNECT_TIMEOUT_ARG.get(driver)
        connect_args = {arg: _CONNECT_TIMEOUT_S} if arg and arg not in url.query else {}
        engine = sa.create_engine(url, connect_args=connect_args)
    except sa_exc.NoSuchModuleError:
        raise SourceError(
            f"source {source!r}: SQLAlchemy knows no database {url.drivername!r} ({shown})",
            hint="start the URL with a dialect such as postgresql+psycopg, mysql+pymysql,"
            " mssql+pyodbc or sqlite, or install the package that provides this one",
        ) from None
    except ModuleNotFoundError as e:
        missing = (e.name or url.drivername).split(".")[0]
        raise SourceError(
            f"source {source!r}: the database driver {missing!r} is not installed ({shown})",
            hint=_DRIVER_INSTALL.get(missing, f"pip install {missing}"),
        ) from None
    if engine.dialect.is_async:
        engine.dispose()
        raise SourceError(
            f"source {source!r}: {url.drivername!r} is an asyncio driver; c360 reads synchronously",
            hint="use a synchronous driver, e.g. postgresql+psycopg or mysql+pymysql",
        )
    return engine


def _connect(engine: Engine, source: str) -> Connection:
    url = engine.url
    try:
        return engine.connect()
    except sa_exc.DBAPIError as e:
        where = f"{url.host}:{url.port}" if url.port else (url.host or "the local socket")
        raise SourceError(
            f"source {source!r}: cannot connect to {where}"
            f" ({url.render_as_string(hide_password=True)}): {_db_message(e, url)}",
            hint="check that the server is running and reachable from here, and the URL's"
            " host, port, user, password and database",
        ) from None


def _statement(
    conn: Connection,
    location: SqlLocation,
    source: str,
    id_column: str,
    updated_at: str | None,
    since: str | None,
) -> tuple[sa.Executable, list[str]]:
    """The statement to stream and its column names, checked before any row is read."""
    if location.table is not None:
        table = _reflect(conn, location.table, source)
        columns = [c.name for c in table.columns]
        _require_columns(columns, id_column, updated_at, f"table {location.table!r}", source)
        # In id order: a full read and an incremental one (by watermark, with `read_ids`)
        # put every record at the same position.
        stmt = sa.select(table).order_by(table.c[id_column])
        if updated_at is not None and since is not None:
            col = table.c[updated_at]
            stmt = stmt.where(col > sa.bindparam("since", _since_value(since, col, source)))
        return stmt, columns
    assert location.query is not None  # SqlLocation guarantees exactly one of table or query
    # Trailing semicolons end a statement, which is not allowed inside a subquery.
    query = sa.text(_TEXT_BIND.sub(r"\\:\1", location.query.strip().rstrip(";").rstrip()))
    wrapped: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(
        query.columns().subquery("c360_src")
    )
    # Run it once without rows: a syntax error or a missing column is reported before reading.
    # (Stopping a streamed read early instead would drain it: pymysql reads every row on close.)
    probe = _execute(conn, wrapped.limit(0), source, "query")
    columns = list(probe.keys())
    probe.close()
    _require_columns(columns, id_column, updated_at, "the query's result", source)
    if updated_at is None or since is None:
        # As written: MariaDB drops an ORDER BY inside a subquery, and row numbers in the
        # quarantine should follow the order the user asked for.
        return query, columns
    # Untyped so the database casts the text to the column's type: the column's type is not
    # known here, and a bind typed as text would not compare with a timestamp on PostgreSQL.
    value = sa.bindparam("since", since, type_=NullType())
    return wrapped.where(sa.column(updated_at) > value), columns


def _reflect(conn: Connection, name: str, source: str) -> sa.Table:
    schema, _, table_name = name.rpartition(".")
    try:
        with warnings.catch_warnings():
            # Types SQLAlchemy does not know (extensions, e.g. PostGIS) reflect as NullType and
            # warn; every value is read as text anyway, so they are harmless here.
            warnings.simplefilter("ignore", sa_exc.SAWarning)
            return sa.Table(table_name, sa.MetaData(), schema=schema or None, autoload_with=conn)
    except sa_exc.NoSuchTableError:
        inspector = sa.inspect(conn)
        names = inspector.get_table_names(schema or None) + inspector.get_view_names(schema or None)
        where = f"schema {schema!r}" if schema else "the database"
        raise SourceError(
            f"source {source!r}: no table {name!r} in {where}; tables are: {_listing(names)}",
            hint="set `table` to one of these, or schema.table for another schema",
        ) from None


def _require_columns(
    columns: Sequence[str], id_column: str, updated_at: str | None, where: str, source: str
) -> None:
    if len(set(columns)) < len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise SourceError(
            f"source {source!r}: {where} has more than one column named {', '.join(repeated)}",
            hint="give each column its own name with AS in the query",
        )
    for key, name in (("id", id_column), ("updated_at", updated_at)):
        if name is not None and name not in columns:
            raise SourceError(
                f"source {source!r}: {where} has no {key} column {name!r};"
                f" columns are: {_listing(columns)}",
                hint=f"set the source's `{key}` to one of these (names are case-sensitive)",
            )


def _since_value(since: str, column: sa.Column[Any], source: str) -> object:
    """`since` as the column's Python type, so the driver sends a value the column compares to."""
    try:
        kind = column.type.python_type
    except NotImplementedError:  # SQLAlchemy's answer for a type with no Python equivalent
        return since
    parse = _SINCE_PARSERS.get(kind)
    if parse is None:
        return since
    try:
        return parse(since)
    except (ValueError, ArithmeticError):
        raise SourceError(
            f"source {source!r}: since {since!r} is not a {kind.__name__} like column"
            f" {column.name!r}",
            hint="pass the watermark of an earlier read of this source",
        ) from None


def _execute(
    conn: Connection,
    stmt: sa.Executable,
    source: str,
    what: str,
) -> sa.CursorResult[Any]:
    try:
        return conn.execute(stmt)
    except sa_exc.DBAPIError as e:
        message = _db_message(e, conn.engine.url)
        raise SourceError(
            f"source {source!r}: the database rejected the {what}: {message}",
            hint="run the same SQL in a SQL client as the same user to see and fix the problem",
        ) from None


def _stream(
    conn: Connection,
    stmt: sa.Executable,
    columns: list[str],
    source: str,
    id_column: str,
    updated_at: str | None,
    since: str | None,
    batch_size: int,
) -> SqlRead:
    schema = pa.schema([pa.field(c, pa.string()) for c in columns])
    id_index = columns.index(id_column)
    stamp_index = columns.index(updated_at) if updated_at is not None else None
    batches: list[pa.RecordBatch] = []
    quarantined: list[tuple[int, str]] = []
    newest: Any = None
    rows_read = 0
    # Server-side cursor (psycopg) or unbuffered cursor (pymysql): rows arrive batch by batch
    # instead of the driver loading the whole result into memory first.
    result = _execute(conn.execution_options(stream_results=True), stmt, source, "read")
    try:
        while rows := result.fetchmany(batch_size):
            values: list[list[str | None]] = [[] for _ in columns]
            for row in rows:
                rows_read += 1
                if stamp_index is not None:
                    stamp = row[stamp_index]
                    if stamp is not None and (newest is None or stamp > newest):
                        newest = stamp
                texts, reason = _row_texts(row, columns, id_index)
                if reason is not None:
                    quarantined.append((rows_read, reason))
                    continue
                for column, text in zip(values, texts, strict=True):
                    column.append(text)
            arrays = [pa.array(v, type=pa.string()) for v in values]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    except sa_exc.DBAPIError as e:
        raise SourceError(
            f"source {source!r}: reading failed after {rows_read} rows:"
            f" {_db_message(e, conn.engine.url)}",
            hint="check the server's log and read again",
        ) from None
    finally:
        result.close()
    watermark = _text(newest) if newest is not None else since
    return SqlRead(
        table=pa.Table.from_batches(batches, schema=schema),
        rows_read=rows_read,
        quarantined=quarantined,
        watermark=watermark,
    )


def _row_texts(
    row: Sequence[object], columns: list[str], id_index: int
) -> tuple[list[str | None], str | None]:
    """The row's values as text, or the reason it goes to quarantine."""
    texts: list[str | None] = []
    problems: list[str] = []
    for name, value in zip(columns, row, strict=True):
        try:
            texts.append(_text(value))
        except (TypeError, ValueError) as e:
            texts.append(None)
            problems.append(f"column {name!r}: {e}")
    record_id = texts[id_index]
    if record_id is None and row[id_index] is None:
        problems.insert(0, f"id column {columns[id_index]!r} is null")
    elif record_id is not None and not record_id.strip():
        problems.insert(0, f"id column {columns[id_index]!r} is blank")
    # Every problem at once, so one fix at the source clears the row.
    return (texts, None) if not problems else ([], "; ".join(problems))


def _text(value: object) -> str | None:
    """One database value as text; raises TypeError or ValueError when it has no text form."""
    if value is None or isinstance(value, str):
        return value
    # bool before int: bool is an int, and SQL spells it true/false, not Python's True/False.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, Decimal):
        # Plain digits: str() would write some values in exponent form (Decimal('1E+2')).
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        # MySQL TIME and PostgreSQL interval arrive as timedelta; written as [-]H:MM:SS[.ffffff],
        # as the database itself shows a TIME, rather than Python's "1 day, 2:00:00".
        sign, rest = ("-", -value) if value < dt.timedelta(0) else ("", value)
        hours, seconds = divmod(rest.days * 86_400 + rest.seconds, 3600)
        text = f"{sign}{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}"
        return f"{text}.{rest.microseconds:06d}" if rest.microseconds else text
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"binary value of {len(value)} bytes is not UTF-8 text") from None
    if isinstance(value, dict | list | tuple):
        # JSON and array columns: JSON text keeps their structure readable.
        try:
            return json.dumps(value, ensure_ascii=False, default=_text)
        except (TypeError, ValueError) as e:
            raise ValueError(f"structured value cannot be written as JSON text: {e}") from None
    raise TypeError(f"cannot convert a {type(value).__name__} value to text; cast it in a query")


def _db_message(error: sa_exc.DBAPIError, url: URL) -> str:
    """The first line of the database's own message, without a password that it might quote."""
    orig = error.orig
    args: tuple[object, ...] = getattr(orig, "args", ())
    # MySQL drivers raise (code, message) pairs; the message alone reads better, with its code.
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        message = f"{args[1]} (error {args[0]})"
    else:
        message = str(orig)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else type(orig).__name__
    if url.password:
        first = first.replace(str(url.password), "***")
    return first


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(sorted(names)[:_MAX_LISTED])
    return shown if len(names) <= _MAX_LISTED else f"{shown}, … ({len(names)} in all)"
