"""Hypothesis strategies for SPARQL text: SERVICE clauses written every way the grammar (and oxigraph's
parser, which needs no word boundary after a keyword) allows, and harmless queries that only mention
the word. Shared by the guard's unit tests and the tests against real servers."""

from __future__ import annotations

from hypothesis import strategies as st

SERVICE = "SERVICE"
# Between two tokens: nothing (where the tokens cannot merge), white space of each kind, comments.
GAPS = ["", " ", "\t", "\n", "\r\n", "  \n\t", "#c\n", "# SERVICE <x> {}\n", " #'\"<\n"]
# What may come right before the SERVICE keyword inside a group, and must be kept apart from it.
BEFORE = [
    ("", ""),
    ("?s ?p ?o .", ""),
    ("?s ?p ?o", " "),
    ("?s ?p true", ""),  # `trueSERVICE`: oxigraph reads `true SERVICE`
    ("?s ?p 1", ""),
    ("?s ?p 'x'", ""),
    ("?s ?p <urn:x>", ""),
    ("FILTER(true)", ""),
    ("BIND(1 AS ?one)", ""),
    ("{}", ""),
    ("OPTIONAL { ?s ?p ?o }", ""),
    ("FILTER(COALESCE(1<?s||?s>0, true))", ""),  # `<?s||?s>` looks like an IRI
]


@st.composite
def cased(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)


@st.composite
def spec_escaped(draw: st.DrawFn, word: str) -> str:
    """`word` with some letters as \\u or \\U escapes, which SPARQL replaces before parsing."""
    out = []
    for c in word:
        how = draw(st.sampled_from(["plain", "plain", "u", "U"]))
        out.append(c if how == "plain" else f"\\u{ord(c):04X}" if how == "u" else f"\\U{ord(c):08x}")
    return "".join(out)


@st.composite
def service_queries(draw: st.DrawFn, url: str, *, escapes: bool = True) -> str:
    """A SELECT holding a SERVICE clause that calls `url` (which must end with '/')."""
    gap = lambda: draw(st.sampled_from(GAPS))  # noqa: E731
    keyword = draw(cased(SERVICE))
    if escapes and draw(st.integers(0, 4)) == 0:
        keyword = draw(spec_escaped(keyword))
    silent = draw(st.sampled_from(["", "SILENT", "silent", "SiLeNt"]))
    target = draw(st.sampled_from(["iri", "default-prefix", "prefix"]))
    prologue = f"PREFIX ex: <{url}> PREFIX : <{url}>"
    service_iri = {"iri": f"<{url}q>", "default-prefix": ":q", "prefix": "ex:q"}[target]
    # Gaps may only be empty where two tokens cannot run together.
    after_keyword = gap() if not silent and target == "iri" or target == "default-prefix" else " "
    after_silent = gap() if target != "prefix" and target != "default-prefix" else " "
    before, glue = draw(st.sampled_from(BEFORE))
    glue = glue or gap()
    clause = keyword + after_keyword + (silent + after_silent if silent else "") + service_iri
    clause += gap() + "{" + gap() + "?x ?y ?z" + gap() + "}"
    body = draw(st.sampled_from([f"{before}{glue}{clause}", f"{{ {before}{glue}{clause} }}"]))
    form = draw(st.sampled_from(["SELECT *", "select ?x", "SELECT*"]))
    return f"{prologue}{gap() or ' '}{form}{gap()}WHERE{gap()}{{{gap()}{body}{gap()}}}"


@st.composite
def harmless_queries(draw: st.DrawFn) -> str:
    """A query that only names SERVICE where it is no keyword: strings, IRIs, comments, variables."""
    word = draw(cased(SERVICE))
    place = draw(
        st.sampled_from(
            [
                f'"{word} <http://127.0.0.1/> {{}}"',
                f"'{word}'",
                f'"""a "quoted" {word}\n{{ }}"""',
                f"'''it's {word}'''",
                f'"\\"{word}\\""',
                f"<http://example.org/{word}#{word}>",
                f"ex:{word}",
                f"ex:has{word}",
                f"?{word}",
                f"${word}",
                f"_:{word}",
            ]
        )
    )
    comment = draw(st.sampled_from(["", f"# {word} <http://127.0.0.1/> {{ }}\n", f"#{word}\n"]))
    return f"PREFIX ex: <http://example.org/>\n{comment}SELECT * WHERE {{ ?s ?p {place} . {comment}}}"
