"""Fixtures of the client suite: one client per implementation for the whole session, fresh spaces per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.client.harness import IMPLEMENTATIONS, Facade, make_client
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.model import FileNode

LIMIT = 1024 * 1024  # MAX_STREAMING_FILE_SIZE of the "limited" servers
CREDENTIALS = {"username": "admin", "password": ADMIN_PASSWORD}


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """The event loop the async clients live on, in its own thread."""
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture(scope="session")
def limited_server(server_factory) -> RunningServer:
    return server_factory({"VITALGRAPH_MAX_STREAMING_FILE_SIZE": str(LIMIT)}, name="client-limited")


@pytest.fixture(scope="session", params=IMPLEMENTATIONS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def new_client(kind: str, local_server: RunningServer, portal: BlockingPortal) -> Iterator:
    """Make more clients of this kind (real ones on the shared server); all are closed at the end."""
    made: list[Facade] = []

    def make(
        server: RunningServer | None = None, server_settings: dict | None = None, **options: object
    ) -> Facade:
        server = server or local_server
        if not kind.endswith("mock"):
            options = {**CREDENTIALS, **options}
        facade = make_client(
            kind,
            portal,
            server_url=server.url,
            server_settings=server_settings,
            retry_backoff=0.01,
            **options,
        )
        made.append(facade)
        return facade

    yield make
    for facade in made:
        facade.close()


@pytest.fixture(scope="session")
def client(new_client) -> Facade:
    return new_client().open()


@pytest.fixture(scope="session")
def limited_client(new_client, limited_server: RunningServer) -> Facade:
    return new_client(limited_server, server_settings={"MAX_STREAMING_FILE_SIZE": LIMIT}).open()


def make_space(facade: Facade) -> str:
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    facade.spaces.create_space(space_id, "test space")
    return space_id


@pytest.fixture
def space(client: Facade) -> Iterator[str]:
    space_id = make_space(client)
    yield space_id
    client.spaces.delete_space(space_id)


def make_file(facade: Facade, space_id: str, name: str = "report.bin") -> str:
    uri = f"http://example.org/{space_id}/{uuid.uuid4().hex}"
    facade.files.create_file(space_id, [FileNode(uri, name=name)])
    return uri


@pytest.fixture
def file_uri(client: Facade, space: str) -> str:
    return make_file(client, space)
