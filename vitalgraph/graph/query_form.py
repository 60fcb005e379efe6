"""The form of a SPARQL query text (SELECT, ASK, CONSTRUCT, DESCRIBE), read without a full parser.

Both the query service (which picks the answer's media type from it) and the SPARQL store (whose
server may answer a CONSTRUCT sent for JSON results with a table, as Virtuoso does) need it.
"""

from __future__ import annotations

import re
from enum import Enum

from vitalgraph.errors import InvalidInputError


class QueryForm(str, Enum):
    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"


UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

# Text that holds no keywords, in SPARQL's own tokenisation: escapes outside strings (`ex:a\#`),
# IRIs (which may contain \u escapes), long and short strings, and comments. One left-to-right
# pass, so a '#' or quote inside an IRI or string is never mistaken for a comment or string start.
_NON_KEYWORD_TEXT = re.compile(
    r"""
      <(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
    | '''(?:[^'\\]|\\.|'(?!''))*'''
    | "(?:[^"\\\n\r]|\\.)*"
    | '(?:[^'\\\n\r]|\\.)*'
    | \\.
    | \#[^\n\r]*
    """,
    re.VERBOSE | re.DOTALL,
)
# A bare word: not part of a variable, prefixed name, language tag or blank node label.
_BARE_WORD = re.compile(r"(?<![\w?$:@])[A-Za-z]+(?![\w:])")


def query_keywords(query: str) -> list[str]:
    """The bare words of a query outside IRIs, strings and comments, upper-cased, in order."""
    return [w.upper() for w in _BARE_WORD.findall(_NON_KEYWORD_TEXT.sub(" ", query))]


def classify_query(query: str) -> QueryForm:
    """The query's form; InvalidInputError for updates, SERVICE, or text that is no query at all."""
    words = query_keywords(query)
    if "SERVICE" in words:
        raise InvalidInputError(
            "SERVICE (federated query) is not allowed: a query sees only the graphs of its space"
        )
    for word in words:
        if word in QueryForm.__members__:
            return QueryForm(word)
        if word in UPDATE_KEYWORDS:
            raise InvalidInputError(
                f"SPARQL updates ({word}) are not accepted: this endpoint only runs queries "
                "(SELECT, ASK, CONSTRUCT, DESCRIBE); change data through the graph object routes"
            )
    raise InvalidInputError("SPARQL syntax error: expected a SELECT, ASK, CONSTRUCT or DESCRIBE query")


# A FROM or FROM NAMED clause: the keyword(s), then an IRI or a prefixed name (comments may come between).
_GAP = r"(?:\s|\#[^\n\r]*)*"
_FROM_CLAUSE = re.compile(
    rf"""
      (?<![\w?$:@])(?i:FROM)(?![\w:]){_GAP}(?:(?<![\w?$:@])(?i:NAMED)(?![\w:]){_GAP})?
      (?:<[^<>"{{}}|^`\\\x00-\x20]*>|[A-Za-z][\w.-]*:[\w.%-]*|:[\w.%-]*)
    """,
    re.VERBOSE,
)
_FROM_OR_SKIPPED = re.compile(
    f"(?P<skip>{_NON_KEYWORD_TEXT.pattern})|{_FROM_CLAUSE.pattern}", re.VERBOSE | re.DOTALL
)


# Virtuoso's ways out of a dataset: `DEFINE input:default-graph-uri <...>` pragmas (the protocol's
# dataset is itself sent as such pragmas, and more of them widen it), and calls into SQL through
# functions named `bif:...` or `sql:...` (as IRIs or as prefixed names).
_SERVER_FUNCTION_IRI = re.compile(r"<\s*(?i:bif|sql):")
_SERVER_FUNCTION_NAME = re.compile(r"(?<![\w?$:@.-])(?i:bif|sql):")
_IRI_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def confined_to_dataset(query: str) -> str:
    """The query as a SPARQL server must get it so that it reads only the dataset sent with it.

    FROM and FROM NAMED clauses are blanked out: the SPARQL 1.1 Protocol's `default-graph-uri` /
    `named-graph-uri` override them, so on a server that follows it this changes nothing, but
    Virtuoso adds them to the protocol's dataset instead. Virtuoso's own extensions that reach past
    the dataset (DEFINE pragmas, `bif:` and `sql:` functions) are refused. Fails closed: a FROM that
    cannot be taken out is refused too.
    """
    if "DEFINE" in query_keywords(query):
        raise InvalidInputError(
            "DEFINE (a Virtuoso pragma) is not allowed: it can change the query's dataset"
        )
    iris = "".join(m.group(0) for m in _NON_KEYWORD_TEXT.finditer(query) if m.group(0).startswith("<"))
    plain = _NON_KEYWORD_TEXT.sub(" ", query)
    if _SERVER_FUNCTION_IRI.search(_unescape(iris)) or _SERVER_FUNCTION_NAME.search(plain):
        raise InvalidInputError("bif: and sql: functions (Virtuoso's SQL) are not allowed in a query")
    stripped = _FROM_OR_SKIPPED.sub(lambda m: m.group(0) if m.group("skip") else " ", query)
    if "FROM" in query_keywords(stripped):
        raise InvalidInputError("SPARQL syntax error: FROM must be followed by an IRI or a prefixed name")
    return stripped


def _unescape(iri_text: str) -> str:
    return _IRI_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), iri_text)
