"""HTTP digest fields (RFC 9530): `Repr-Digest` and `Content-Digest` with SHA-256.

Downloads say what the whole file's SHA-256 is (`Repr-Digest`, also on ranges), and what the content
sent is (`Content-Digest`, when that is the whole file). Uploads may carry either; the server checks
the bytes it received against it before the file changes. Values are structured-field dictionaries
whose members are byte sequences: `sha-256=:<base64>:`.
"""

from __future__ import annotations

import base64
import binascii
import re

from vitalgraph.errors import InvalidInputError

ALGORITHM = "sha-256"
_MEMBER = re.compile(r"\s*([a-z][a-z0-9_.*-]*)\s*=\s*(.*?)\s*$")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_WEIGHT = re.compile(r"[0-9]{1,2}")


def digest_field(sha256_hex: str) -> str:
    """`sha-256=:...:` for a hex SHA-256."""
    return f"{ALGORITHM}=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"


def sha256_from_field(name: str, value: str) -> str | None:
    """The hex SHA-256 an upload's digest field claims; None when it names only other algorithms
    (RFC 9530 lets a recipient ignore those). 400 when the field cannot be read."""
    found = None
    for member in _split(value):
        match = _MEMBER.match(member)
        if not match:
            raise InvalidInputError(
                f"invalid {name} header: {member.strip()[:80]!r} is not algorithm=:base64:"
            )
        algorithm, raw = match.groups()
        if algorithm != ALGORITHM:
            continue
        data = _BYTES.fullmatch(raw)
        try:
            digest = base64.b64decode(data[1], validate=True) if data else b""
        except binascii.Error:
            digest = b""
        if len(digest) != 32:
            raise InvalidInputError(
                f"invalid {name} header: sha-256 must be 32 bytes in base64 between colons"
            )
        found = digest.hex()
    return found


def wants_sha256(value: str | None) -> bool:
    """Whether a `Want-Repr-Digest` / `Want-Content-Digest` preference allows sending SHA-256: always,
    unless it gives sha-256 the weight 0 ("not acceptable"). We know no other algorithm, and RFC 9530
    lets a server send one the client did not list."""
    if not value:
        return True
    for member in _split(value):
        name, _, weight = member.partition("=")
        if name.strip() == ALGORITHM and _WEIGHT.fullmatch(weight.strip()) and int(weight) == 0:
            return False
    return True


def _split(value: str) -> list[str]:
    return [part for part in value.split(",") if part.strip()]
