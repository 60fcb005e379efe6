"""The SPARQL guard decides on the grammar's tokens: SERVICE is refused however it is written, queries
that only mention the word pass, and so do long queries and newer syntax the engine runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.unit.sparql_queries import harmless_queries, service_queries
from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.query_form import QueryForm, classify_query
from vitalgraph.graph.sparql_lexer import Kind, SparqlLexError, tokenize

DOCS = Path(__file__).resolve().parents[2] / "docs"


@settings(max_examples=600, deadline=None)
@given(service_queries("http://127.0.0.1:9/"))
def test_service_is_refused_however_it_is_written(query):
    with pytest.raises(InvalidInputError, match="SERVICE"):
        classify_query(query)


@settings(max_examples=300, deadline=None)
@given(harmless_queries())
def test_the_word_service_outside_keywords_passes(query):
    assert classify_query(query) is QueryForm.SELECT


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX : <http://h/> SELECT * WHERE { SERVICE:q {} }",  # oxigraph: SERVICE :q
        "SELECT * WHERE { SERVICESILENT<http://h/> {} }",  # oxigraph: SERVICE SILENT <...>
        "PREFIX x: <http://h/> SELECT * WHERE { ?a ?b trueSERVICE x:q {} }",
        "PREFIX serviceX: <http://h/> SELECT * WHERE { serviceX:q ?p ?o }",  # a prefix named so: refused too
        "SELECT * WHERE { \\u0053ERVICE <http://h/> {} }",  # SPARQL replaces \\u escapes before parsing
        'SELECT * WHERE { ?s ?p "\\u0022 } SERVICE <http://h/> {} #" }',  # ... inside strings too
        "SELECT * WHERE { ?s ?p ?o } # \r SERVICE <http://h/> {}",  # CR ends a comment
        'SELECT * WHERE { ?s ?p "x"@en-SERVICE }',
    ],
)
def test_engine_readings_of_service_are_refused(query):
    with pytest.raises(InvalidInputError, match="SERVICE"):
        classify_query(query)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { ?s ?p ?o } \x00",
        "SELECT * WHERE { ?s ?p 'unterminated }",
        "SELECT * WHERE { ?s ?p ?o } \\u004CIMIT 1",  # an escape outside IRIs and strings: oxigraph refuses
        'SELECT * WHERE { ?s ?p "\\uD800" }',
        "\ufeffSELECT * WHERE {}",
        "SELECT * WHERE { ſervice <http://h/> {} }",  # no keyword starts with a non-ASCII letter
        "SELECT * WHERE { ?s ex:p ?o }",  # undeclared prefix
        'DEFINE input:grab-all "yes" SELECT * WHERE {}',  # Virtuoso's pragmas are no SPARQL
    ],
)
def test_text_the_check_cannot_read_is_refused(query):
    with pytest.raises(InvalidInputError, match="syntax error|prefix|expected"):
        classify_query(query)


def test_every_query_in_the_docs_passes():
    queries = re.findall(r"```sparql\n(.*?)```", (DOCS / "sparql.md").read_text(), re.S)
    queries = [q for q in queries if re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", q)]
    assert len(queries) >= 5
    for query in queries:
        classify_query(query)


def test_a_200_pattern_query_passes_quickly():
    query = "PREFIX ex: <http://example.org/>\nSELECT * WHERE {\n"
    query += "\n".join(f"  ?s{i} ex:p{i} ?o{i} . FILTER(?o{i} != 'SERVICE')" for i in range(200)) + "\n}"
    assert classify_query(query) is QueryForm.SELECT
    assert len(tokenize(query)) > 2000


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { << ?s ?p ?o >> ?q ?r . ?s ?p ?o {| <urn:a> ?b |} }",
        "SELECT * WHERE { ?s ?p <<( ?a ?b ?c )>> }",
        "SELECT * WHERE { ?s ?p ?o ~ _:r }",
        'SELECT ?x WHERE { BIND("a"@en--ltr AS ?x) }',
        "SELECT * WHERE { ?s ?p ?o LATERAL { SELECT ?x WHERE { ?s ?q ?x } LIMIT 1 } }",
        "SELECT * WHERE { ?s ?p ?o FILTER(?o<?s&&?s>?o) }",
        "SELECT (SHA256(STR(?s)) AS ?h) (GROUP_CONCAT(?o; SEPARATOR=',') AS ?all) WHERE { ?s ?p ?o } GROUP BY ?s",
        "PREFIX e: <http://e/> SELECT * WHERE { ?s e:a.b\\#c%20 ?o ; e:p/e:q*|^e:r? ?x . } ORDER BY DESC(?x)",
        "BASE <http://b/> PREFIX : <x#> ASK { :a <rel> 1.5e3, .5, 1., -2 }",
        "select*where{?s?p?o}",
        "DESCRIBE <urn:x>",
        "CONSTRUCT WHERE { ?s ?p ?o }",
        "SELECT * FROM <urn:g> FROM NAMED <urn:h> WHERE { GRAPH <urn:h> { ?s ?p ?o } }",
    ],
)
def test_newer_and_unusual_syntax_passes(query):
    classify_query(query)


def test_tokens_follow_the_grammar_terminals():
    tokens = tokenize("PREFIX ex: <http://x/a#b> SELECT ?v $w WHERE { ex:a.b _:n 'it''s' . } # SERVICE")
    assert [(t.kind, t.text) for t in tokens] == [
        (Kind.WORD, "PREFIX"),
        (Kind.PNAME, "ex:"),
        (Kind.IRI, "<http://x/a#b>"),
        (Kind.WORD, "SELECT"),
        (Kind.VAR, "?v"),
        (Kind.VAR, "$w"),
        (Kind.WORD, "WHERE"),
        (Kind.PUNCT, "{"),
        (Kind.PNAME, "ex:a.b"),
        (Kind.BNODE, "_:n"),
        (Kind.STRING, "'it'"),
        (Kind.STRING, "'s'"),
        (Kind.PUNCT, "."),
        (Kind.PUNCT, "}"),
    ]
    with pytest.raises(SparqlLexError, match="character 3"):
        tokenize("{ ` }")


def test_updates_are_named():
    for update in ["INSERT DATA { <urn:a> <urn:b> <urn:c> }", "PREFIX x: <urn:x#> DELETE WHERE { ?s ?p ?o }"]:
        with pytest.raises(InvalidInputError, match="updates"):
            classify_query(update)


def test_a_long_query_is_read_to_its_end():
    patterns = "\n".join(f'  ?s{i} ex:p{i} "v\\"{i}" .' for i in range(5000))
    query = f"PREFIX ex: <http://example.org/>\nSELECT * WHERE {{\n{patterns}\n}}"
    assert classify_query(query) is QueryForm.SELECT
    with pytest.raises(InvalidInputError, match="SERVICE"):
        classify_query(query[:-1] + " SERVICE <http://h/> { } }")
