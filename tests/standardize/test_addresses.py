from c360.standardize import addresses
from c360.standardize.identifiers import identifier


def test_street_abbreviations_expand_and_house_number_splits() -> None:
    parts = addresses.street("12B Main St.", split_house_number=True)
    assert parts == addresses.StreetParts("main street", "12b")
    assert addresses.street("Main Street", split_house_number=True).house_number is None


def test_house_number_is_kept_when_not_splitting() -> None:
    assert addresses.street("12 Main St", split_house_number=False).street == "12 main street"


def test_saint_in_a_place_name_is_not_a_street() -> None:
    assert addresses.city("St. Kilda") == "saint kilda"


def test_postcode_cleaning() -> None:
    assert addresses.postcode(" sw1a-1aa ") == "SW1A1AA"


def test_identifier_drops_spaces_and_dashes() -> None:
    assert identifier(" 123-45 6789 ") == "123456789"
    assert identifier(" - ") is None
