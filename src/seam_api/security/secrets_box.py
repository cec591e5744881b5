"""Keys derived from the server secret, and the box that encrypts secrets at rest.

TOTP secrets must be readable by the server (to check codes), so they are encrypted, not
hashed: AES-256-GCM under a key derived by HKDF from the JWT secret, one key per purpose, so
a key for one use never serves another. Whoever reads the database alone learns nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for `purpose`, derived from the server secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(secret.encode())


class SecretsBox:
    """Encrypts short secrets for storage; `associated` binds a ciphertext to its row."""

    def __init__(self, server_secret: str) -> None:
        self._aead = AESGCM(derive_key(server_secret, "seam-api/mfa-secrets/v1"))

    def seal(self, plaintext: str, *, associated: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, associated: str) -> str | None:
        """The plaintext, or None if it was altered, moved to another row or sealed under
        another server secret."""
        try:
            raw = base64.urlsafe_b64decode(stored.encode())
            opened = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated.encode())
        except (InvalidTag, ValueError):
            return None
        return opened.decode()


class CodeHasher:
    """A keyed hash for random codes (recovery codes): fast, since they are not guessable,
    and useless to whoever reads the database without the server secret."""

    def __init__(self, server_secret: str) -> None:
        self._key = derive_key(server_secret, "seam-api/recovery-codes/v1")

    def hash(self, code: str) -> str:
        return hmac.new(self._key, code.encode(), hashlib.sha256).hexdigest()
