"""What a SPARQL query text is and may do, decided on the grammar's tokens (graph/sparql_lexer.py).

`classify_query` is the one check every query passes: its form (SELECT, ASK, CONSTRUCT, DESCRIBE),
no update, no SERVICE however written. The query service runs it before a query reaches a store (and
picks the answer's media type from the form); the SPARQL store runs it again, since its server may
answer a CONSTRUCT sent for JSON results with a table, as Virtuoso does. `confined_to_dataset` is the
SPARQL store's extra step for servers that widen a query's dataset.
"""

from __future__ import annotations

import re
from enum import Enum

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.sparql_lexer import Kind, SparqlLexError, Token, readings


class QueryForm(str, Enum):
    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"


UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
# Keywords that reach outside the space's graphs. Only SERVICE does in SPARQL 1.1 queries: FROM, FROM
# NAMED and GRAPH <iri> stay inside the dataset the stores fix (see the module's docstring).
OUTSIDE_KEYWORDS = {
    "SERVICE": "SERVICE (federated query) is not allowed: a query sees only the graphs of its space"
}


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
    """The query's form, decided on the grammar's tokens. InvalidInputError for updates, for SERVICE
    however it is written, for undeclared prefixes, and for any text the tokenizer cannot read.

    When SPARQL's own reading of the text (\\u escapes replaced first) differs from oxigraph's, both
    must pass: the check holds whichever reading the engine behind the store uses.
    """
    found = readings(query)
    token_lists = [tokens for tokens in found if not isinstance(tokens, SparqlLexError)]
    for tokens in token_lists:  # first, so SERVICE is named even when another reading fails
        _refuse_outside(tokens)
    for error in found:
        if isinstance(error, SparqlLexError):
            raise InvalidInputError(f"SPARQL syntax error: {error}")
    forms = {_classify_tokens(tokens) for tokens in token_lists}
    if len(forms) != 1:
        raise InvalidInputError(
            "the query reads as a different query form once its \\u escapes are replaced: "
            "write those characters as they are"
        )
    return forms.pop()


def _classify_tokens(tokens: list[Token]) -> QueryForm:
    position, declared = _prologue(tokens)
    form = _form(tokens[position] if position < len(tokens) else None)
    for token in tokens[position:]:
        if token.kind is Kind.PNAME and token.prefix not in declared:
            raise InvalidInputError(
                f"SPARQL syntax error: prefix '{token.prefix}:' of {token.text} is not declared "
                f"(add PREFIX {token.prefix}: <...>)"
            )
    return form


def _refuse_outside(tokens: list[Token]) -> None:
    """Keywords are case-insensitive and need no word boundary in every engine, so a keyword is
    refused anywhere inside a word, a prefix or a language tag (never inside IRIs, strings,
    variables or local names, which engines read whole)."""
    for token in tokens:
        if token.kind is Kind.WORD or token.kind is Kind.LANGTAG:
            text = token.text
        elif token.kind is Kind.PNAME and token.prefix:
            text = token.prefix
        else:
            continue
        upper, lower = text.upper(), text.lower()
        for keyword, message in OUTSIDE_KEYWORDS.items():
            if keyword in upper or keyword.lower() in lower:
                raise InvalidInputError(message)


def _prologue(tokens: list[Token]) -> tuple[int, set[str]]:
    """Where the prologue (BASE and PREFIX declarations) ends, and the prefixes it declares."""
    declared: set[str] = set()
    position = 0
    while position < len(tokens) and tokens[position].kind is Kind.WORD:
        keyword = tokens[position].upper
        if keyword == "BASE" and _kinds(tokens, position + 1, Kind.IRI):
            position += 2
        elif keyword == "PREFIX" and _kinds(tokens, position + 1, Kind.PNAME, Kind.IRI):
            name = tokens[position + 1]
            if name.text != name.prefix + ":":
                raise InvalidInputError(f"SPARQL syntax error: PREFIX {name.text} is not a prefix name")
            declared.add(name.prefix)
            position += 3
        else:
            break
    return position, declared


def _kinds(tokens: list[Token], start: int, *kinds: Kind) -> bool:
    found = [t.kind for t in tokens[start : start + len(kinds)]]
    return found == list(kinds)


def _form(token: Token | None) -> QueryForm:
    word = token.upper if token is not None and token.kind is Kind.WORD else ""
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
