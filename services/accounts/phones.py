"""Phone numbers as the accounts service keeps them: E.164 (+8613800001234), parsed as Chinese numbers when
written without a country code, so 138 0000 1234, 13800001234 and +86 138-0000-1234 are one phone."""

from __future__ import annotations

import phonenumbers

REGION = "CN"


def normalise(raw: str) -> str | None:
    """E.164, or None when `raw` is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The number as people write it at home: 13800001234 for a Chinese mobile."""
    number = phonenumbers.parse(e164, REGION)
    if number.country_code == 86:
        return str(number.national_number)
    return e164


def masked(e164: str | None) -> str | None:
    """138****1234: enough to recognise one's own number, not enough to call it."""
    if not e164:
        return None
    digits = national(e164)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
