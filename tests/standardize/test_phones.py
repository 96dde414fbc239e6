from c360.standardize.phones import phone


def test_formats_of_one_number_agree_in_e164() -> None:
    values = ["(415) 867-5309", "415-867-5309", "+1 415 867 5309", "415.867.5309", "4158675309"]
    assert {phone(v).value for v in values} == {"+14158675309"}


def test_default_region_applies_to_national_numbers() -> None:
    assert phone("020 7946 0018", default_region="GB").value == "+442079460018"


def test_invalid_number_becomes_null_with_a_flag() -> None:
    for bad in ("12", "not a phone", "+1 000 000 0000"):
        result = phone(bad)
        assert result.value is None
        assert result.flag is not None
