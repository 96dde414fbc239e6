from c360.standardize.text import fold


def test_fold() -> None:
    assert fold("  Zoë  O'Brien-Smith ") == "zoe o brien smith"
    assert fold("¿?") is None
