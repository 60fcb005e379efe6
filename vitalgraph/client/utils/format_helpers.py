"""The older client's wire-format names. The older VitalGraphClient runs on our clients, which
speak JSON-LD; `wire_format` is accepted and recorded, and the server speaks JSON quads to any
caller that asks for them (docs/migration.md)."""

from __future__ import annotations

from enum import Enum


class ClientWireFormat(str, Enum):
    JSON_QUADS = "json_quads"
    NQUADS = "nquads"
