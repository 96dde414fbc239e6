from c360.standardize import names


def test_given_name_folds_accents_case_and_titles() -> None:
    assert names.given_name("  Dr. JOSÉ ") == "jose"


def test_a_lone_title_word_is_kept_as_the_name() -> None:
    assert names.given_name("Dean") == "dean"


def test_family_name_drops_suffix_and_punctuation() -> None:
    assert names.family_name("O'Brien Jr.") == "o brien"


def test_nickname_roots_intersect_for_nickname_and_formal_name() -> None:
    assert set(names.name_roots("bill")) & set(names.name_roots("william"))
    assert not set(names.name_roots("mary")) & set(names.name_roots("william"))


def test_full_name_split_handles_comma_order_and_affixes() -> None:
    assert names.full_name("Doe, John") == names.ParsedName("john", "doe")
    assert names.full_name("Dr. John Q. Doe Jr.") == names.ParsedName("john", "doe")
