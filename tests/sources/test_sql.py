"""`read_sql` against real PostgreSQL and MariaDB servers: each test written once, run on both.

Every test gets its own database (`c360_test_<random>`, created through the server's default
database and dropped afterwards). A server that cannot be reached is probed once per session and
its tests are skipped with the reason, so the suite runs on a laptop without databases.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from c360.errors import SourceError
from c360.project.config import SqlLocation
from c360.sources.sql import SqlRead, read_sql


@dataclass(frozen=True)
class Backend:
    name: str
    label: str
    scheme: str
    user: str
    host: str
    port: int
    admin_db: str
    # MySQL has no boolean type: BOOL is TINYINT(1), so the driver hands back 1, not True.
    true_text: str
    create_db: str
    drop_db: str

    def url(self, database: str, *, port: int | None = None, password: str | None = None) -> str:
        return sa.URL.create(
            self.scheme,
            username=self.user,
            password=password,
            host=self.host,
            port=port or self.port,
            database=database,
        ).render_as_string(hide_password=False)


BACKENDS = [
    Backend(
        name="postgresql",
        label="PostgreSQL",
        scheme="postgresql+psycopg",
        user="postgres",
        host="127.0.0.1",
        port=5432,
        admin_db="postgres",
        true_text="true",
        create_db="CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
        drop_db="DROP DATABASE IF EXISTS {} WITH (FORCE)",
    ),
    Backend(
        name="mariadb",
        label="MariaDB",
        scheme="mysql+pymysql",
        user="root",
        host="127.0.0.1",
        port=3306,
        admin_db="test",
        true_text="1",
        create_db="CREATE DATABASE {} CHARACTER SET utf8mb4",
        drop_db="DROP DATABASE IF EXISTS {}",
    ),
]

CUSTOMERS = sa.Table(
    "customers",
    sa.MetaData(),
    sa.Column("id", sa.String(20), nullable=True),
    sa.Column("name", sa.String(100)),
    sa.Column("balance", sa.Numeric(10, 2)),
    sa.Column("visits", sa.Integer),
    sa.Column("born", sa.Date),
    sa.Column("active", sa.Boolean),
    sa.Column("updated_at", sa.DateTime),
)
COLUMNS = [c.name for c in CUSTOMERS.columns]
ROWS = [
    ("C1", "Zoë Ünal-李", Decimal("12.50"), 3, dt.date(1980, 3, 14), True, dt.datetime(2024, 3, 1, 9, 30)),
    ("C2", "Robert Johnson", Decimal("-0.75"), 0, None, False, dt.datetime(2024, 3, 2, 10, 0)),
    (None, "No Id", Decimal("1.00"), 1, dt.date(1990, 1, 1), True, dt.datetime(2024, 3, 3, 11, 15)),
    ("C3", "Maria Garcia", None, None, dt.date(1975, 11, 2), None, dt.datetime(2024, 2, 28, 8, 0)),
]  # fmt: skip
NEWEST = "2024-03-03T11:15:00"  # the null-id row's: a quarantined row still moves the watermark
QUERY = "SELECT * FROM customers"


def _engine(url: str) -> sa.Engine:
    # Tests must stay fast: a server that is down should fail the probe in seconds.
    return sa.create_engine(url, connect_args={"connect_timeout": 2})


@pytest.fixture(scope="session")
def unreachable() -> dict[str, str]:
    """Backend name → why its server cannot be used; probed once per session."""
    reasons: dict[str, str] = {}
    for backend in BACKENDS:
        try:
            engine = _engine(backend.url(backend.admin_db))
            try:
                with engine.connect():
                    pass
            finally:
                engine.dispose()
        except (sa_exc.DBAPIError, ImportError) as e:
            orig = getattr(e, "orig", None) or e
            # pymysql's errors are (code, message) pairs; the message alone reads better.
            args = orig.args
            text = args[1] if len(args) == 2 and isinstance(args[1], str) else str(orig)
            first = text.splitlines()[0]
            reasons[backend.name] = (
                f"{backend.label} not reachable at {backend.host}:{backend.port}: {first}"
            )
    return reasons


@pytest.fixture(params=[pytest.param(b, id=b.name) for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    b: Backend = request.param
    return b


@pytest.fixture
def database(backend: Backend, unreachable: dict[str, str]) -> Iterator[str]:
    """URL of a fresh, empty database on the backend's server, dropped after the test."""
    if backend.name in unreachable:
        pytest.skip(unreachable[backend.name])
    name = f"c360_test_{uuid.uuid4().hex[:12]}"
    admin = _engine(backend.url(backend.admin_db)).execution_options(isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(backend.create_db.format(quoted))
        yield backend.url(name)
        with admin.connect() as conn:
            conn.exec_driver_sql(backend.drop_db.format(quoted))
    finally:
        admin.dispose()


@pytest.fixture
def customers(database: str) -> str:
    """URL of a database holding the `customers` table with ROWS."""
    _insert(database, ROWS, create=True)
    return database


def _insert(url: str, rows: Sequence[tuple[object, ...]], *, create: bool = False) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            if create:
                CUSTOMERS.create(conn)
            conn.execute(CUSTOMERS.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
    finally:
        engine.dispose()


def _by_id(read: SqlRead) -> dict[str, dict[str, str | None]]:
    return {row["id"]: row for row in read.table.to_pylist()}


def test_reads_every_value_as_text(backend: Backend, customers: str) -> None:
    read = read_sql(
        SqlLocation(url=customers, table="customers"),
        source="crm",
        id_column="id",
        updated_at="updated_at",
        batch_size=2,
    )

    assert read.table.schema == pa.schema([(c, pa.string()) for c in COLUMNS])
    assert len(read.table.to_batches()) == 2  # streamed two rows at a time
    rows = _by_id(read)
    assert rows["C1"] == {
        "id": "C1",
        "name": "Zoë Ünal-李",
        "balance": "12.50",
        "visits": "3",
        "born": "1980-03-14",
        "active": backend.true_text,
        "updated_at": "2024-03-01T09:30:00",
    }
    assert rows["C2"]["balance"] == "-0.75"
    assert rows["C2"]["visits"] == "0"
    assert rows["C2"]["born"] is None
    assert rows["C3"]["balance"] is None
    assert read.watermark == NEWEST


def test_quarantines_null_id_and_counts_balance(customers: str) -> None:
    # Ordered, so the quarantined row's number in the result is known.
    location = SqlLocation(url=customers, query="SELECT * FROM customers ORDER BY updated_at")

    read = read_sql(location, source="crm", id_column="id")

    assert read.quarantined == [(4, "id column 'id' is null")]
    assert sorted(_by_id(read)) == ["C1", "C2", "C3"]
    assert read.rows_read == len(ROWS) == read.table.num_rows + len(read.quarantined)
    assert read.watermark is None  # no updated_at given


def test_quarantines_a_value_that_is_not_text(database: str) -> None:
    files = sa.Table(
        "files",
        sa.MetaData(),
        sa.Column("id", sa.String(10)),
        sa.Column("body", sa.String(10)),
        sa.Column("raw", sa.LargeBinary),  # BYTEA on PostgreSQL, BLOB on MariaDB
    )
    engine = _engine(database)
    try:
        with engine.begin() as conn:
            files.create(conn)
            conn.execute(
                files.insert(),
                [
                    {"id": "F1", "body": "ok", "raw": b"plain"},
                    {"id": "F2", "body": "bad", "raw": b"\xff\xfe"},
                    {"id": "  ", "body": "blank", "raw": b"\xff"},
                ],
            )
    finally:
        engine.dispose()

    read = read_sql(
        SqlLocation(url=database, query="SELECT * FROM files ORDER BY body"),
        source="docs",
        id_column="id",
    )

    assert read.table.to_pylist() == [{"id": "F1", "body": "ok", "raw": "plain"}]
    assert read.quarantined == [
        (1, "column 'raw': binary value of 2 bytes is not UTF-8 text"),
        (2, "id column 'id' is blank; column 'raw': binary value of 1 bytes is not UTF-8 text"),
    ]
    assert read.rows_read == 3


@pytest.mark.parametrize("kind", ["table", "query"])
def test_incremental_read_returns_only_newer_rows(customers: str, kind: str) -> None:
    location = (
        SqlLocation(url=customers, table="customers")
        if kind == "table"
        else SqlLocation(url=customers, query=QUERY)
    )

    def read(since: str | None) -> SqlRead:
        return read_sql(
            location, source="crm", id_column="id", updated_at="updated_at", since=since
        )

    first = read(None)
    assert first.watermark == NEWEST
    _insert(customers, [("C4", "Wei Chen", None, 1, None, True, dt.datetime(2024, 3, 4, 12, 0))])

    second = read(first.watermark)
    assert [r["id"] for r in second.table.to_pylist()] == ["C4"]
    assert second.rows_read == 1
    assert second.watermark == "2024-03-04T12:00:00"

    third = read(second.watermark)
    assert third.rows_read == 0
    assert third.table.num_rows == 0
    assert third.table.column_names == COLUMNS
    assert third.watermark == second.watermark  # nothing newer: store the same one again


def test_reads_a_query(customers: str) -> None:
    # A LIKE with % and a literal ':noon' must reach the database as written, not as parameters.
    location = SqlLocation(
        url=customers,
        query="SELECT id, visits + 1 AS next_visit, 'at :noon' AS note FROM customers"
        " WHERE name LIKE '%a%' ORDER BY id;",
    )

    read = read_sql(location, source="crm", id_column="id")

    assert read.table.to_pylist() == [
        {"id": "C1", "next_visit": "4", "note": "at :noon"},
        {"id": "C3", "next_visit": None, "note": "at :noon"},
    ]
    assert read.quarantined == []


def test_missing_table_lists_the_tables(customers: str) -> None:
    with pytest.raises(SourceError, match=r"source 'crm': no table 'customer' .* customers"):
        read_sql(SqlLocation(url=customers, table="customer"), source="crm", id_column="id")


@pytest.mark.parametrize("kind", ["table", "query"])
def test_missing_id_column_lists_the_columns(customers: str, kind: str) -> None:
    location = (
        SqlLocation(url=customers, table="customers")
        if kind == "table"
        else SqlLocation(url=customers, query=QUERY)
    )

    with pytest.raises(SourceError) as raised:
        read_sql(location, source="crm", id_column="customer_id")

    message = str(raised.value)
    assert "source 'crm'" in message
    assert "no id column 'customer_id'" in message
    assert "columns are: active, balance, born, id, name, updated_at, visits" in message


def test_missing_updated_at_column_is_named(customers: str) -> None:
    location = SqlLocation(url=customers, query="SELECT id, name FROM customers")

    with pytest.raises(
        SourceError, match=r"no updated_at column 'modified'; columns are: id, name"
    ):
        read_sql(location, source="crm", id_column="id", updated_at="modified", since=NEWEST)


def test_query_syntax_error_quotes_the_database(customers: str) -> None:
    location = SqlLocation(url=customers, query="SELEC id FROM customers")

    with pytest.raises(
        SourceError, match=r"source 'crm': the database rejected the query: .*(?i:syntax)"
    ):
        read_sql(location, source="crm", id_column="id")


def test_unreachable_server_is_named_without_password(backend: Backend) -> None:
    # Port 1 refuses at once; no server is needed for this test, only the driver.
    url = backend.url(backend.admin_db, port=1, password="s3cret-pw")

    with pytest.raises(SourceError) as raised:
        read_sql(SqlLocation(url=url, table="customers"), source="crm", id_column="id")

    message = str(raised.value)
    assert "source 'crm': cannot connect to 127.0.0.1:1" in message
    assert f"{backend.user}:***@" in message
    assert "s3cret-pw" not in message


def test_missing_driver_gives_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    location = SqlLocation(url="postgresql+psycopg://postgres@127.0.0.1/test", table="t")

    with pytest.raises(SourceError) as raised:
        read_sql(location, source="crm", id_column="id")

    assert "driver 'psycopg' is not installed" in str(raised.value)
    assert raised.value.hint == 'pip install "psycopg[binary]"'
