"""Blob keys for file content.

Keys are built from hashes and a fresh uuid, never from the URI text itself: two different
(space, graph, URI) triples can never share a key, no URI can escape the store, and every upload
gets a new key so a replacement swaps atomically when the file node is updated. A key is made for
one node, but other nodes of the same space may come to share it (deduplication: blob_release.py).
"""

from __future__ import annotations

import hashlib
import uuid


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


ALL_SPACES_PREFIX = "spaces/"


def space_blob_prefix(space_uid: str) -> str:
    """Where a space's blobs live, named by its identity (`Space.uid`), never by its reusable id."""
    return f"{ALL_SPACES_PREFIX}{_digest(space_uid, 32)}/"


def new_content_key(space_uid: str, graph_id: str, file_uri: str) -> str:
    node = _digest(f"{graph_id}\x00{file_uri}", 40)
    return f"{space_blob_prefix(space_uid)}{node}/{uuid.uuid4().hex}"
