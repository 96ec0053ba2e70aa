"""Device credentials: a random token shown once, stored as its SHA-256 (a token is long and
random, so a fast hash is enough and keeps ingest's lookup a single index probe)."""

import secrets

from devices.ingest import token_hash

PREFIX = "dv_"


def token_new() -> tuple[str, str, str]:
    """(token, its hash, a short prefix to recognise it by)."""
    token = PREFIX + secrets.token_urlsafe(24)
    return token, token_hash(token), token[:10]


def claim_code_new() -> str:
    """Eight characters without look-alikes (no 0/O, 1/I/L), printed on the QR label."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))
