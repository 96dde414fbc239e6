from c360.standardize.emails import email


def test_valid_email_is_lowercased() -> None:
    assert email(" John.Doe@Example.COM ").value == "john.doe@example.com"


def test_invalid_email_becomes_null_with_a_flag() -> None:
    result = email("john.doe@@example")
    assert result.value is None
    assert result.flag is not None and result.flag.startswith("invalid email")


def test_provider_rules_only_when_asked_and_only_for_dotless_providers() -> None:
    assert email("j.doe+news@gmail.com").value == "j.doe+news@gmail.com"
    assert email("j.doe+news@gmail.com", provider_rules=True).value == "jdoe@gmail.com"
    assert email("j.doe+news@corp.com", provider_rules=True).value == "j.doe+news@corp.com"
