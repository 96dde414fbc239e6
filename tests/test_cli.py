"""End to end through the command line, as a user runs it."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PEOPLE, pairwise_f1, write_csv


def c360(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c360", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def read_clusters(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_dedupe_febrl1_zero_config(febrl1: Path, tmp_path: Path) -> None:
    out = tmp_path / "clusters.csv"
    pairs = tmp_path / "pairs.csv"
    result = c360("dedupe", febrl1, "--id-column", "rec_id", "--output", out, "--pairs", pairs)
    assert result.returncode == 0, result.stderr
    rows = read_clusters(out)
    assert len(rows) == 1000 and len({r["record_id"] for r in rows}) == 1000
    predicted = {r["record_id"]: r["cluster_id"] for r in rows}
    truth = {r["record_id"]: r["record_id"].split("-")[1] for r in rows}
    precision, recall, f1 = pairwise_f1(predicted, truth)
    assert f1 >= 0.99, (precision, recall)
    # What a user needs to trust it: what was detected, the model, the blocking.
    for shown in ("given_name", "national_id", "Match model", "Blocking", "clusters"):
        assert shown in result.stderr
    with pairs.open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    assert header[:4] == ["record_id_l", "record_id_r", "match_weight", "match_probability"]


def test_dedupe_rerun_is_deterministic(febrl1: Path, tmp_path: Path) -> None:
    outputs = []
    for i in range(2):
        out = tmp_path / f"c{i}.csv"
        assert c360("dedupe", febrl1, "-i", "rec_id", "-o", out, "-q").returncode == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def _people_files(tmp_path: Path) -> tuple[Path, Path, Path, dict[tuple[str, str], int]]:
    """Three systems with different column names, order and formats; truth by person index."""
    crm = write_csv(
        tmp_path / "crm.csv",
        ["contact_id", "First Name", "Last Name", "E-mail", "Phone", "DOB", "City"],
        [[f"c{i}", p[0], p[1], p[2], p[3], p[4], p[6]] for i, p in enumerate(PEOPLE)],
    )
    shop = write_csv(
        tmp_path / "shop.csv",
        ["id", "name", "email", "zip", "street"],
        [
            [f"s{i}", f"{p[1].upper()}, {p[0]}", p[2].upper(), p[7], p[5]]
            for i, p in enumerate(PEOPLE)
            if i % 2 == 0
        ],
    )
    support = write_csv(
        tmp_path / "support.csv",
        ["id", "requester", "mobile", "birthday"],
        [
            [f"t{i}", f"{p[0]} {p[1]}", p[3].replace("(", "").replace(")", ""), p[4]]
            for i, p in enumerate(PEOPLE)
            if i % 3 == 0
        ],
    )
    truth = {("crm", f"c{i}"): i for i in range(len(PEOPLE))}
    truth |= {("shop", f"s{i}"): i for i in range(len(PEOPLE)) if i % 2 == 0}
    truth |= {("support", f"t{i}"): i for i in range(len(PEOPLE)) if i % 3 == 0}
    return crm, shop, support, truth


def test_link_three_sources_with_different_columns(tmp_path: Path) -> None:
    crm, shop, support, truth = _people_files(tmp_path)
    out = tmp_path / "clusters.csv"
    result = c360("link", crm, shop, support, "--id-column", "id", "-o", out, "-q")
    # crm has no "id" column: the error names the file and the columns it has.
    assert result.returncode == 2
    assert "crm.csv: no id column 'id'" in result.stderr and "contact_id" in result.stderr

    config = tmp_path / "c360.yaml"
    with crm.open(encoding="utf-8") as fh:
        crm_rows = list(csv.reader(fh))[1:]
    crm2 = write_csv(
        tmp_path / "crm2.csv",
        ["id", "First Name", "Last Name", "E-mail", "Phone", "DOB", "City"],
        crm_rows,
    )
    config.write_text("id_column: id\n", encoding="utf-8")
    result = c360("link", crm2, shop, support, "--config", config, "-o", out)
    assert result.returncode == 0, result.stderr
    rows = read_clusters(out)
    assert {r["source"] for r in rows} == {"crm2", "shop", "support"}
    assert len(rows) == len(truth)
    predicted = {
        f"{r['source'].replace('crm2', 'crm')}:{r['record_id']}": r["cluster_id"] for r in rows
    }
    expected = {f"{source}:{rid}": str(person) for (source, rid), person in truth.items()}
    assert pairwise_f1(predicted, expected) == (1.0, 1.0, 1.0)


def test_show_config_round_trips_through_config(febrl1: Path, tmp_path: Path) -> None:
    shown = c360("dedupe", febrl1, "-i", "rec_id", "--show-config")
    assert shown.returncode == 0, shown.stderr
    assert "comparisons:" in shown.stdout and "given_name" in shown.stdout
    config = tmp_path / "c.yaml"
    config.write_text(shown.stdout, encoding="utf-8")
    again = c360("dedupe", febrl1, "--config", config, "--show-config")
    assert again.returncode == 0, again.stderr
    assert again.stdout == shown.stdout


def test_explain_names_levels_weights_and_probability(febrl1: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    out = tmp_path / "c.csv"
    assert (
        c360("dedupe", febrl1, "-i", "rec_id", "-o", out, "--save-model", model, "-q").returncode
        == 0
    )
    result = c360(
        "explain",
        febrl1,
        "-i",
        "rec_id",
        "--model",
        model,
        "-a",
        "rec-10-org",
        "-b",
        "rec-10-dup-0",
    )
    assert result.returncode == 0, result.stderr
    assert "match probability" in result.stdout and "given_name" in result.stdout
    missing = c360(
        "explain", febrl1, "-i", "rec_id", "--model", model, "-a", "nope", "-b", "rec-10-org"
    )
    assert missing.returncode == 2 and "record 'nope' not found" in missing.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        (b"", "file is empty"),
        (b"id,name\n", "no data rows"),
        (b"id\n1\n2\n", "no column to match on"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "people.csv"
    if content is not None:
        path.write_bytes(content)
    result = c360("dedupe", path, "-i", "id", "-o", tmp_path / "c.csv")
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_rows_are_quarantined_and_counts_balance(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    lines = ["id,first_name,last_name,email,notes"]
    lines += [f"{i},{p[0]},{p[1]},{p[2]}," for i, p in enumerate(PEOPLE)]
    lines += ["3,Dup,Licate,dup@x.com,", ",No,Id,noid@x.com,", "99,Too,Many,x@y.com,,extra"]
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    quarantine = tmp_path / "q.csv"
    out = tmp_path / "c.csv"
    result = c360("dedupe", path, "-i", "id", "-o", out, "--quarantine", quarantine)
    assert result.returncode == 0, result.stderr
    assert len(read_clusters(out)) == len(PEOPLE)
    reasons = [r["reason"] for r in read_clusters(quarantine)]
    assert len(reasons) == 3
    assert any("duplicate id '3'" in r for r in reasons)
    assert any("missing id" in r for r in reasons)
    assert any("too many columns" in r for r in reasons)
    assert f"{len(PEOPLE) + 3} rows → {len(PEOPLE)} records (3 quarantined)" in result.stderr
    assert "notes" in result.stderr  # the all-empty column is reported, not silently used


def test_latin1_file_is_read_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    rows = ["id,first_name,last_name"] + [f"{i},{p[0]},{p[1]}" for i, p in enumerate(PEOPLE)]
    rows.append("99,José,Núñez")
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    out = tmp_path / "c.csv"
    result = c360("dedupe", path, "-i", "id", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "read as latin-1" in result.stderr
    assert len(read_clusters(out)) == len(PEOPLE) + 1


def test_help_explains_commands() -> None:
    result = c360("dedupe", "--help")
    assert result.returncode == 0
    assert "--id-column" in result.stdout and "--show-config" in result.stdout


def test_labelled_pairs_guide_training_and_bad_labels_are_named(
    febrl1: Path, tmp_path: Path
) -> None:
    labels = write_csv(
        tmp_path / "labels.csv",
        ["record_id_l", "record_id_r", "is_match"],
        [["rec-10-org", "rec-10-dup-0", "1"], ["rec-10-org", "rec-122-org", "0"]],
    )
    out = tmp_path / "c.csv"
    result = c360("dedupe", febrl1, "-i", "rec_id", "-o", out, "--labels", labels, "-q")
    assert result.returncode == 0, result.stderr
    assert len(read_clusters(out)) == 1000

    bad = write_csv(
        tmp_path / "bad.csv",
        ["record_id_l", "record_id_r", "is_match"],
        [["rec-10-org", "rec-nope", "1"]],
    )
    result = c360("dedupe", febrl1, "-i", "rec_id", "-o", out, "--labels", bad, "-q")
    assert result.returncode == 2
    assert "bad.csv:2: record 'rec-nope' not found" in result.stderr


def test_rules_link_regardless_of_the_model_and_explain_names_the_rule(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "people.csv",
        ["id", "first_name", "last_name", "customer_number"],
        [[str(i), p[0], p[1], f"K-{i}"] for i, p in enumerate(PEOPLE)]
        + [["99", "Someone", "Else", "K-0"]],
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        "id_column: id\n"
        "fields: {customer_number: customer_id}\n"
        "rules:\n"
        "  - name: same customer number\n"
        "    all: [{field: customer_id, match: exact}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "c.csv"
    result = c360("dedupe", path, "--config", config, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    clusters = {r["record_id"]: r["cluster_id"] for r in read_clusters(out)}
    assert clusters["99"] == clusters["0"]
    explained = c360("explain", path, "--config", config, "-a", "0", "-b", "99")
    assert explained.returncode == 0, explained.stderr
    assert "Matched by deterministic rule same customer number" in explained.stdout


def test_a_hot_key_is_capped_and_reported(tmp_path: Path) -> None:
    rows = [[str(i), p[0], p[1], p[2]] for i, p in enumerate(PEOPLE)]
    first = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo"]
    last = ["Lee", "Ng", "Ruiz", "Diaz", "Kim", "Park", "Shaw", "Webb"]
    rows += [[f"t{i}", first[i % 10], last[i // 10], "test@example.com"] for i in range(60)]
    path = write_csv(tmp_path / "people.csv", ["id", "first_name", "last_name", "email"], rows)
    out = tmp_path / "c.csv"
    result = c360("dedupe", path, "-i", "id", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "'test@example.com' (60)" in result.stderr
    clusters = {r["record_id"]: r["cluster_id"] for r in read_clusters(out)}
    assert len({clusters[f"t{i}"] for i in range(60)}) == 60
