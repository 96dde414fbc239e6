from datetime import date

import pytest

from c360.standardize.dates import birth_date, infer_date_order


@pytest.mark.parametrize(
    ("raw", "order", "iso"),
    [
        ("1956-04-09", "mdy", "1956-04-09"),
        ("19560409", "mdy", "1956-04-09"),
        ("04/09/1956", "mdy", "1956-04-09"),
        ("09/04/1956", "dmy", "1956-04-09"),
        ("9.4.1956", "dmy", "1956-04-09"),
    ],
)
def test_formats_parse_to_iso(raw: str, order: str, iso: str) -> None:
    assert birth_date(raw, order=order).value == iso


@pytest.mark.parametrize("raw", ["1983-02-30", "19831301", "31/31/1990", "someday"])
def test_impossible_dates_become_null_with_a_flag(raw: str) -> None:
    result = birth_date(raw, order="dmy")
    assert result.value is None
    assert result.flag is not None


def test_future_birth_date_is_rejected() -> None:
    assert birth_date("2030-01-01", today=date(2026, 1, 1)).value is None


def test_order_is_inferred_from_unambiguous_values() -> None:
    assert infer_date_order(["01/02/1990", "25/12/1980"]) == "dmy"
    assert infer_date_order(["01/02/1990", "12/25/1980"]) == "mdy"
    assert infer_date_order(["01/02/1990"], default="dmy") == "dmy"
