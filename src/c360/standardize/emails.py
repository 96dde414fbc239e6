"""Email addresses: syntax and normalisation by email-validator; optional provider rules."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

__all__ = ["StandardEmail", "email"]

# Providers that deliver `name+tag` to `name`; of them, Gmail also ignores dots.
_PLUS_PROVIDERS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com",
        "me.com", "fastmail.com", "protonmail.com", "proton.me",
    }
)  # fmt: skip
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})


@dataclass(frozen=True)
class StandardEmail:
    value: str | None
    flag: str | None = None


def email(value: str, *, provider_rules: bool = False) -> StandardEmail:
    """Validate and normalise; an invalid address becomes None with a flag.

    >>> email(" John.Doe+news@GMAIL.com ", provider_rules=True).value
    'johndoe@gmail.com'
    """
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as e:
        return StandardEmail(None, f"invalid email: {e}")
    local, domain = result.local_part.lower(), result.domain.lower()
    if provider_rules:
        if domain == "googlemail.com":
            domain = "gmail.com"
        if domain in _PLUS_PROVIDERS:
            local = local.split("+", 1)[0]
        if domain in _DOTLESS_PROVIDERS:
            local = local.replace(".", "")
    return StandardEmail(f"{local}@{domain}")
