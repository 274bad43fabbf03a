"""Keys, settings and values the secrets kit uses."""

from __future__ import annotations

from typing import Any

#: Raw 32-byte keys of versions 1, 2 and 3 (test material only).
K1, K2, K3 = (bytes([v]) * 16 + b"kode-kit-raw-key" for v in (0xA1, 0xB2, 0xC3))
#: A passphrase key (stretched with PBKDF2 by the store).
PASSPHRASE = "correct horse battery staple, kit edition"
#: Values of every JSON kind; the string is findable in a dump.
VALUES: dict[str, Any] = {
    "text": "sk-live-PLAINTEXT-findable-0123456789",
    "number": 424242424242,
    "object": {"user": "ops", "token": "tok-PLAINTEXT-abc", "nested": [1, 2.5, None, True]},
    "list": ["a", "ünïcødé", "🚀"],
    "null": None,
    "empty": "",
}


def settings(
    key: bytes | str = K1,
    version: int = 1,
    previous: dict[int, bytes | str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Server-side secret-store options: audit on unless ``more`` says otherwise."""
    return {
        "key": key,
        "key_version": version,
        "previous_keys": previous or {},
        "audit": True,
        **more,
    }
