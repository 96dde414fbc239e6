"""`c360 demo` end to end at a small size, and `c360 review` on its result."""

from __future__ import annotations

from pathlib import Path

from tests.project.conftest import c360


def test_demo_builds_a_company_and_reports_quality(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = c360("demo", "--people", "400", "--dir", folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Links against the generator's truth: precision" in result.stderr
    assert "Published" in result.stderr
    assert "Golden record" in result.stdout and "Timeline" in result.stdout
    assert "Try next" in result.stdout
    assert (folder / "c360.duckdb").exists()

    review = c360("review", "--list", "-n", "3", cwd=folder)
    assert review.returncode == 0, review.stderr
    assert "match probability" in review.stdout or "Nothing to review" in review.stderr

    rerun = c360("run", "-q", cwd=folder)
    assert rerun.returncode == 0, rerun.stderr
    assert "IDs changed: 0" in rerun.stderr

    again = c360("demo", "--people", "300", "--dir", folder, cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # its own folder may be replaced


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    result = c360("demo", "--people", "100", "--dir", folder, cwd=tmp_path)
    assert result.returncode == 2 and "not a c360 demo folder" in result.stderr
    assert (folder / "precious.txt").read_text() == "keep me"
