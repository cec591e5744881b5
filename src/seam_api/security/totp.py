"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) through pyotp, recovery codes, and the QR code.

A code is accepted for the current step and the one before (a phone a little behind, a code
typed as it turned); which step matched is returned so the caller can refuse it a second time.
"""

from __future__ import annotations

import hmac
import io
import secrets
import time

import pyotp
import segno

ISSUER = "SEAM API"
STEP_SECONDS = 30
RECOVERY_CODES = 10


def new_secret() -> str:
    """A random base32 secret (160 bits, RFC 4226's recommendation)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as a standalone SVG QR code (dark on white, readable in a dark theme too),
    drawn here so the secret never reaches another service."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, nl=False, scale=4, border=2, light="#fff"
    )
    return out.getvalue().decode()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The step (`now // 30`) whose code `code` is, the current or the previous; None if
    neither."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in (current, current - 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of 10 hex digits (40 random bits each), grouped for reading: `a1b2c-3d4e5`."""
    codes = []
    for _ in range(RECOVERY_CODES):
        digits = secrets.token_hex(5)
        codes.append(f"{digits[:5]}-{digits[5:]}")
    return codes


def normal_recovery_code(code: str) -> str:
    """The form a recovery code is hashed in: lower case, without spaces or dashes."""
    return "".join(c for c in code.lower() if c not in " -")
