"""Coupon codes: 12 random characters from an alphabet without look-alikes (no 0/O, 1/I) and a
check character, so a mistyped or invented code is refused before any lookup."""

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 characters
RANDOM_LENGTH = 12
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


def _check_char(body):
    total = sum((i + 1) * _INDEX[ch] for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_code():
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + _check_char(body)


def new_codes(count):
    """`count` fresh codes. 32 characters and 256 byte values: `byte % 32` picks each
    character uniformly, from one call to the system's random source."""
    pool = secrets.token_bytes(count * RANDOM_LENGTH)
    made = []
    for start in range(0, len(pool), RANDOM_LENGTH):
        body = "".join(ALPHABET[b % 32] for b in pool[start : start + RANDOM_LENGTH])
        made.append(body + _check_char(body))
    return made


def normalize(code):
    return str(code or "").strip().upper().replace("-", "").replace(" ", "")


def check_printed(code):
    """Whether `code` could be a coupon code at all (shape and check character)."""
    code = normalize(code)
    if len(code) != RANDOM_LENGTH + 1 or any(ch not in ALPHABET for ch in code):
        return False
    return _check_char(code[:-1]) == code[-1]
