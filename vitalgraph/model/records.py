"""`NodeRecord`: one node's data as plain RDF terms, the meeting point of all the codecs.

Readers (JSON-LD, flat JSON, triples) only produce records and writers only consume them;
turning a record into a typed GraphObject happens once, in `graph_object`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vitalgraph.model.values import Term


@dataclass
class NodeRecord:
    id: str
    types: list[str] = field(default_factory=list)
    properties: dict[str, list[Term]] = field(default_factory=dict)

    def add(self, predicate: str, term: Term) -> None:
        self.properties.setdefault(predicate, []).append(term)


def merge_records(records: Iterable[NodeRecord]) -> list[NodeRecord]:
    """Combine records that describe the same node, in first-seen order (RDF merge semantics)."""
    merged: dict[str, NodeRecord] = {}
    for record in records:
        target = merged.get(record.id)
        if target is None:
            merged[record.id] = NodeRecord(record.id, list(record.types), {})
            target = merged[record.id]
        else:
            target.types.extend(t for t in record.types if t not in target.types)
        for predicate, terms in record.properties.items():
            for term in terms:
                target.add(predicate, term)
    return list(merged.values())
