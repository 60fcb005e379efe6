"""GraphObjects from VitalSigns objects, for code written against the older client.

VitalGraph never depends on VitalSigns (it is the optional extra `vitalgraph[vitalsigns]`): an
object that is not one of ours is converted through its own JSON-LD (`to_jsonld()`), or failing
that its flat JSON (`to_json()`), which is how VitalSigns objects serialize themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vitalgraph.model import GraphObject


def as_graph_objects(objects: Any) -> list[GraphObject]:
    """Our GraphObjects for a list (or one) of ours or VitalSigns'; TypeError for anything else."""
    items = (
        [objects] if not isinstance(objects, Iterable) or isinstance(objects, (str, bytes, dict)) else objects
    )
    converted: list[GraphObject] = []
    for item in items:
        converted.extend(_converted(item))
    return converted


def _converted(item: Any) -> list[GraphObject]:
    if isinstance(item, GraphObject):
        return [item]
    to_jsonld = getattr(item, "to_jsonld", None)
    if callable(to_jsonld):
        document = to_jsonld()
        return GraphObject.from_jsonld(json.loads(document) if isinstance(document, str) else document)
    to_json = getattr(item, "to_json", None)
    if callable(to_json):
        data = to_json()
        return [GraphObject.from_json(json.loads(data) if isinstance(data, str) else data)]
    raise TypeError(
        f"expected GraphObjects (vitalgraph.model, or VitalSigns objects), got {type(item).__name__}"
    )
