from c360.mapping import ColumnProfile, detect_columns
from c360.model import FieldKind


def _profile(name: str, values: list[str], null_share: float = 0.0) -> ColumnProfile:
    return ColumnProfile(name=name, sample=values, null_share=null_share)


def test_febrl_style_names_are_recognised() -> None:
    profiles = [
        _profile("rec_id", ["rec-1-org"]),
        _profile("given_name", ["sarah"]),
        _profile("surname", ["bruhn"]),
        _profile("street_number", ["44"]),
        _profile("address_1", ["forbes street"]),
        _profile("suburb", ["kellerberrin"]),
        _profile("postcode", ["4510"]),
        _profile("state", ["vic"]),
        _profile("date_of_birth", ["19300213"]),
        _profile("soc_sec_id", ["7535316"]),
    ]
    kinds = {m.column: m.kind for m in detect_columns(profiles, ["rec_id"], {})}
    assert "rec_id" not in kinds
    assert kinds == {
        "given_name": FieldKind.GIVEN_NAME,
        "surname": FieldKind.FAMILY_NAME,
        "street_number": FieldKind.HOUSE_NUMBER,
        "address_1": FieldKind.STREET,
        "suburb": FieldKind.CITY,
        "postcode": FieldKind.POSTCODE,
        "state": FieldKind.REGION,
        "date_of_birth": FieldKind.BIRTH_DATE,
        "soc_sec_id": FieldKind.NATIONAL_ID,
    }


def test_values_decide_when_the_name_says_nothing() -> None:
    profiles = [
        _profile("col_a", ["a@x.com", "b@y.org", "c@z.net"]),
        _profile("col_b", ["(212) 555-0100", "212-555-0199", "+1 212 555 0142"]),
    ]
    kinds = {m.column: m.kind for m in detect_columns(profiles, [], {})}
    assert kinds == {"col_a": FieldKind.EMAIL, "col_b": FieldKind.PHONE}


def test_a_name_contradicted_by_values_is_not_trusted() -> None:
    (mapping,) = detect_columns([_profile("email", ["yes", "no", "yes"])], [], {})
    assert mapping.kind is FieldKind.OTHER
    assert "email" in mapping.reason


def test_overrides_win_and_empty_columns_are_ignored() -> None:
    profiles = [_profile("x", ["jo"]), _profile("notes", [], null_share=1.0)]
    mappings = detect_columns(profiles, [], {"x": FieldKind.GIVEN_NAME})
    assert [(m.column, m.kind, m.reason) for m in mappings] == [
        ("x", FieldKind.GIVEN_NAME, "config"),
        ("notes", FieldKind.IGNORE, "all values empty"),
    ]


def test_two_columns_of_one_kind_get_numbered_fields() -> None:
    profiles = [_profile("phone", ["2125550100"]), _profile("mobile", ["2125550199"])]
    assert [m.field for m in detect_columns(profiles, [], {})] == ["phone", "phone_2"]
