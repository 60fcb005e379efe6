"""What only Virtuoso needs: an account of its own on /sparql-auth (HTTP Digest), and a clear error
when the account may read but not update."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.virtuoso import VirtuosoServer
from vitalgraph.errors import StorageUnavailableError
from vitalgraph.graph.base import GRAPH_PREFIX
from vitalgraph.graph.sparql_store import SparqlGraphStore
from vitalgraph.model import KGEntity

pytestmark = [pytest.mark.anyio, pytest.mark.virtuoso]


def account(server: VirtuosoServer, *roles: str) -> tuple[str, str]:
    """A new Virtuoso SQL user with these roles; (name, password)."""
    name, password = f"vg{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    grants = "".join(f' GRANT {role} TO "{name}";' for role in roles)
    server.isql(f"DB.DBA.USER_CREATE('{name}', '{password}');{grants}")
    return name, password


def auth_store(server: VirtuosoServer, name: str, password: str, auth: str) -> SparqlGraphStore:
    url = f"{server.url}/sparql-auth"
    return SparqlGraphStore(url, url, username=name, password=password, auth=auth)  # type: ignore[arg-type]


async def test_an_account_with_the_update_grant_works_through_sparql_auth_with_digest(virtuoso_server):
    name, password = account(virtuoso_server, "SPARQL_UPDATE")
    store = auth_store(virtuoso_server, name, password, "digest")
    await store.open()
    try:
        graph = f"{GRAPH_PREFIX}virtuoso-{uuid.uuid4().hex[:8]}/main"
        acme = KGEntity(URI="http://example.org/acme", name="Acme")
        await store.insert_objects(graph, [acme])
        assert await store.get_objects(graph, [acme.URI]) == [acme]
        await store.drop_graphs([graph])
    finally:
        await store.close()


async def test_basic_auth_on_sparql_auth_is_refused_with_a_hint(virtuoso_server):
    name, password = account(virtuoso_server, "SPARQL_UPDATE")
    with pytest.raises(StorageUnavailableError, match="HTTP 401.*SPARQL_AUTH"):
        await auth_store(virtuoso_server, name, password, "basic").open()


async def test_an_account_that_may_only_read_gets_an_error_naming_the_grant(virtuoso_server):
    name, password = account(virtuoso_server, "SPARQL_SELECT")
    store = auth_store(virtuoso_server, name, password, "digest")
    await store.open()  # reading works
    try:
        graph = f"{GRAPH_PREFIX}virtuoso-{uuid.uuid4().hex[:8]}/main"
        with pytest.raises(StorageUnavailableError, match="may not update") as refused:
            await store.insert_objects(graph, [KGEntity(URI="http://example.org/a", name="A")])
        assert "\n" not in str(refused.value)
        assert await store.existing(graph, ["http://example.org/a"]) == set()
    finally:
        await store.close()
