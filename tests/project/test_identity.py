from __future__ import annotations

from itertools import count

from c360.project.identity import Redirect, assign_customer_ids

_ids = count(1)


def fresh() -> str:
    return f"C-NEW{next(_ids)}"


def test_first_run_issues_one_id_per_cluster() -> None:
    result = assign_customer_ids({"a": 0, "b": 0, "c": 1}, {}, {}, fresh)
    assert len(set(result.customer_of.values())) == 2
    assert result.redirects == [] and len(result.new_ids) == 2


def test_rerun_with_the_same_clusters_changes_nothing() -> None:
    previous = {"a": "C-1", "b": "C-1", "c": "C-2"}
    result = assign_customer_ids({"a": 7, "b": 7, "c": 3}, previous, {}, fresh)
    assert result.customer_of == {7: "C-1", 3: "C-2"}
    assert result.redirects == [] and result.new_ids == []


def test_merge_keeps_the_older_id_and_redirects_the_other() -> None:
    previous = {"a": "C-2", "b": "C-1"}
    issued = {"C-1": "2026-01-02", "C-2": "2026-01-01"}
    result = assign_customer_ids({"a": 0, "b": 0}, previous, issued, fresh)
    assert result.customer_of == {0: "C-2"}
    assert result.redirects == [Redirect("C-1", "C-2", "merge")]


def test_split_keeps_the_id_on_the_larger_part() -> None:
    previous = {"a": "C-1", "b": "C-1", "c": "C-1"}
    result = assign_customer_ids({"a": 0, "b": 1, "c": 1}, previous, {}, fresh)
    assert result.customer_of[1] == "C-1"
    new = result.customer_of[0]
    assert new.startswith("C-NEW")
    assert result.redirects == [Redirect("C-1", new, "split")]


def test_new_records_join_or_found_customers_and_deleted_ones_are_redirected() -> None:
    previous = {"a": "C-1", "gone": "C-9"}
    result = assign_customer_ids({"a": 0, "new1": 0, "new2": 5}, previous, {}, fresh)
    assert result.customer_of[0] == "C-1"
    assert result.customer_of[5].startswith("C-NEW")
    assert Redirect("C-9", None, "deleted") in result.redirects


def test_real_ids_are_sortable_and_unique() -> None:
    result = assign_customer_ids({"a": 0, "b": 1}, {}, {})
    ids = list(result.customer_of.values())
    assert len(set(ids)) == 2 and all(i.startswith("C-") and len(i) == 28 for i in ids)
