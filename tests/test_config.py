from pathlib import Path

import pytest

from c360.config import JobConfig, dump_config, load_config, parse_config
from c360.errors import ConfigError


def test_error_names_the_file_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  threshold: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}: clustering.threshold:" in str(err.value)


def test_unknown_keys_are_errors_not_ignored() -> None:
    with pytest.raises(ConfigError, match=r"blocking\.max_blok_size"):
        parse_config({"blocking": {"max_blok_size": 3}})


def test_bad_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+:\d+: not valid YAML"):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(Path("/nonexistent/c360.yaml"))


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    config = parse_config(
        {
            "id_column": "id",
            "fields": {"surname": "family_name"},
            "rules": [{"name": "same email", "all": [{"field": "email", "match": "exact"}]}],
            "comparisons": [
                {
                    "field": "email",
                    "levels": [{"type": "exact"}, {"type": "damerau_levenshtein", "at_most": 1}],
                }
            ],
        }
    )
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(config), encoding="utf-8")
    assert load_config(path) == config


def test_rule_names_must_be_unique() -> None:
    rule = {"name": "r", "all": [{"field": "email"}]}
    with pytest.raises(ConfigError, match="repeated: r"):
        parse_config({"rules": [rule, rule]})


def test_defaults_validate() -> None:
    assert JobConfig().clustering.threshold == 0.9
