"""Small helpers every engine needs the same way."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

#: The largest code point: no string that starts with a prefix sorts above prefix + this.
_MAX_CHAR = "\U0010ffff"


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``, or None if none is.

    ``prefix <= s < prefix_upper_bound(prefix)`` holds exactly for the strings ``s``
    starting with ``prefix`` (in code point order), so a prefix match becomes a range
    scan of an ordered index. None means "no upper bound" (the prefix is empty or ends
    in the largest code points only).
    """
    stripped = prefix.rstrip(_MAX_CHAR)
    if not stripped:
        return None
    last = ord(stripped[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are not characters: skip to the next one
        last = 0xE000
    return stripped[:-1] + chr(last)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with a URL's password and every one of ``secrets`` replaced by ``***``.

    For error messages and reprs: a driver's message may quote the DSN it was given.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hosts}"
    return f"{scheme}://{netloc}{slash}{tail}"


def url_secrets(url: str) -> tuple[str, ...]:
    """The password of ``url`` as written and as decoded, longest first, for :func:`redact`:
    a driver's message may quote either."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    if not password:
        return ()
    return tuple(sorted({password, unquote(password)}, key=len, reverse=True))
