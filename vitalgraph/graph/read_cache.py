"""Answers of the embedded store's point lookups, kept until a write touches their graphs.

Every request reads the same few keys (its session, its user, its space, its grant): on the embedded
store each read costs ~0.3 ms of the event loop's time, a fifth of it under load. Only this process
opens the store, and every write passes `OxigraphGraphStore.update`, so a cache here can be exact:
a write drops the answers of the graphs it names, when it starts and again when it ends, and while
it runs those graphs are read from the store, not from here. A revocation is seen on the next
request, as without the cache. A store shared by replicas (a SPARQL server) keeps no such cache.

Graphs are read off the text, with IRIs and strings set aside first. A query is kept only when
every `GRAPH` in it is followed by an IRI (and no FROM chooses other graphs); an update whose text
does not bound it that way (a `GRAPH ?g`, the default graph, WITH / USING / DEFAULT / ALL / LOAD)
drops every answer. A word such as "default" inside a string or an IRI is set aside, not taken for
a keyword; where it is not, the cost is an answer dropped, never one kept too long. VitalGraph keeps
every triple in a named graph, so a query that names its graphs reads nothing else.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

EVERY_GRAPH = "*"  # a write the text does not bound: it drops every answer
MAX_ANSWERS = 4096
MAX_ROWS = 64  # larger answers are not point lookups; they are not kept

_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
# On the text: the IRI after each GRAPH (matches inside strings only add graphs, which is safe).
_NAMED_GRAPH = re.compile(r"[Gg][Rr][Aa][Pp][Hh]\s*<([^<>\"{}|^`\\\s]*)>")
# On the text without IRIs and strings: what makes a query read, or an update write, unnamed graphs.
# ... or an answer that changes without a write (the clock, random numbers, fresh identifiers).
_READS_UNNAMED = re.compile(
    r"\b(?:GRAPH(?!\s*<>)|FROM)\b|\b(?:NOW|RAND|UUID|STRUUID|BNODE)\s*\(", re.IGNORECASE
)
_WRITES_UNNAMED = re.compile(r"\b(?:GRAPH(?!\s*<>)|FROM|WITH|USING|DEFAULT|ALL|LOAD)\b", re.IGNORECASE)


def _keywords_only(text: str) -> str:
    """`text` with its IRIs as `<>` and its strings as `""`: what is left are keywords and variables."""
    return _STRING.sub('""', _IRI.sub("<>", text))


def graphs_named(text: str) -> frozenset[str] | None:
    """The graph IRIs a query reads after GRAPH; None when it may read others (a GRAPH followed by a
    variable or a prefixed name, a FROM, or no GRAPH at all) or its answer may change without a write
    (NOW(), RAND(), UUID(), STRUUID(), BNODE()): such a query is never kept."""
    return _graphs(text, _READS_UNNAMED)


def graphs_written(update: str) -> frozenset[str]:
    """The graphs an update may change: those it names, or EVERY_GRAPH when the text leaves it open."""
    return _graphs(update, _WRITES_UNNAMED) or frozenset([EVERY_GRAPH])


def _graphs(text: str, unnamed: re.Pattern[str]) -> frozenset[str] | None:
    if unnamed.search(_keywords_only(text)):
        return None
    return frozenset(_NAMED_GRAPH.findall(text)) or None


class PointLookupCache:
    """Answers by query text, least recently used dropped first. Callers get copies (`copy`)."""

    def __init__(self, max_answers: int = MAX_ANSWERS) -> None:
        self.max_answers = max_answers
        self._answers: OrderedDict[str, tuple[frozenset[str], list]] = OrderedDict()
        self._by_graph: dict[str, set[str]] = {}
        self._writing: dict[str, int] = {}  # graph -> writes in flight (EVERY_GRAPH included)
        self.hits = 0
        self.misses = 0

    def read(self, query: str, run: Callable[[str], list[T]], copy: Callable[[T], T]) -> list[T]:
        """The answer of `query`: kept, or `run(query)` (then kept if no write to its graphs runs)."""
        kept = self._answers.get(query)
        if kept is not None and not self._being_written(kept[0]):
            self._answers.move_to_end(query)
            self.hits += 1
            return [copy(item) for item in kept[1]]
        self.misses += 1
        answer = run(query)
        graphs = graphs_named(query)
        if graphs is not None and len(answer) <= MAX_ROWS and not self._being_written(graphs):
            self._keep(query, graphs, [copy(item) for item in answer])
        return answer

    def write_started(self, graphs: Iterable[str]) -> None:
        for graph in graphs:
            self._writing[graph] = self._writing.get(graph, 0) + 1
            self._drop(graph)

    def write_ended(self, graphs: Iterable[str]) -> None:
        """Called once the write is in the store (or failed), whatever became of its caller."""
        for graph in graphs:
            left = self._writing.get(graph, 0) - 1
            if left > 0:
                self._writing[graph] = left
            else:
                self._writing.pop(graph, None)
            self._drop(graph)

    def __len__(self) -> int:
        return len(self._answers)

    def _being_written(self, graphs: frozenset[str]) -> bool:
        return bool(self._writing) and (
            EVERY_GRAPH in self._writing or any(graph in self._writing for graph in graphs)
        )

    def _keep(self, query: str, graphs: frozenset[str], answer: list) -> None:
        self._answers[query] = (graphs, answer)
        for graph in graphs:
            self._by_graph.setdefault(graph, set()).add(query)
        while len(self._answers) > self.max_answers:
            oldest, (old_graphs, _) = self._answers.popitem(last=False)
            self._forget(oldest, old_graphs)

    def _drop(self, graph: str) -> None:
        if graph == EVERY_GRAPH:
            self._answers.clear()
            self._by_graph.clear()
            return
        for query in self._by_graph.pop(graph, ()):
            kept = self._answers.pop(query, None)
            if kept is not None:
                self._forget(query, kept[0] - {graph})

    def _forget(self, query: str, graphs: Iterable[str]) -> None:
        for graph in graphs:
            queries = self._by_graph.get(graph)
            if queries is not None:
                queries.discard(query)
                if not queries:
                    del self._by_graph[graph]
