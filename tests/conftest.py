"""Shared fixtures. Servers a test needs (SeaweedFS, oxigraph, VitalGraph, ...) live in tests/fixtures/."""

import functools
import os
import ssl

import httpx._transports.default
import pytest
from hypothesis import settings

from tests.fixtures.servers import CHEAP_PASSWORD_HASHES

# No per-example deadline: hypothesis's default (200 ms) is a wall-clock window that examples overrun on
# a loaded machine, failing tests that are right. Example counts stay as each test sets them.
settings.register_profile("vitalgraph", deadline=None)
settings.load_profile("vitalgraph")


def _share_ssl_contexts() -> None:
    """httpx parses the whole CA bundle for every Client it builds (about 30 ms of CPU here) and the
    suite builds thousands of clients: one context per setting, shared, is a fifth of some files' CPU.
    A context given explicitly (`verify=<SSLContext>`) or with a client certificate is left alone."""
    build = httpx._transports.default.create_ssl_context
    shared = functools.lru_cache(maxsize=16)(build)

    def create_ssl_context(
        verify: object = True, cert: object = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if cert is None and isinstance(verify, (bool, str)):
            return shared(verify=verify, cert=None, trust_env=trust_env)
        return build(verify=verify, cert=cert, trust_env=trust_env)

    httpx._transports.default.create_ssl_context = create_ssl_context


_share_ssl_contexts()
# In-process servers (the mocks, Services.start) and the CLI processes tests start read these too.
os.environ.update(CHEAP_PASSWORD_HASHES)

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.oxigraph",
    "tests.fixtures.seaweedfs",
    "tests.fixtures.virtuoso",
    "tests.fixtures.ceph",
    "tests.fixtures.juicefs",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.only_with(server="s3")`: keep the test only for those fixture parameters.

    A test that does not apply to one parameter of a fixture (presigning on the local store) is left
    out at collection (reported as deselected), so that the skips left in a run are only the ones
    that name a missing system component."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("only_with")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if marker and any(params.get(name) not in _as_set(wanted) for name, wanted in marker.kwargs.items()):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    items.sort(key=_longest_files_first)


# The files that take longest (a full run's per-file seconds, three workers), longest first: the Makefile
# runs xdist with --dist loadfile --no-loadscope-reorder, so workers take files in collection order and
# none is left running one long file at the end while the others are done (xdist's default order, by
# number of tests, put two-test files of 50 s last: a minute or more of every `make test`).
LONGEST_FILES = (
    "tests/ui/test_webapp.py",
    "tests/api/test_bad_input_bodies.py",
    "tests/services/test_one_writer_per_node.py",
    "tests/operations/test_sparql_budgets.py",
    "tests/docs/test_docs_run.py",
    "tests/operations/test_backup.py",
    "tests/faults/test_faults.py",
    "tests/blobs/test_s3_specific.py",
    "tests/flows/test_multi_org.py",
    "tests/faults/test_versions.py",
    "tests/graph/test_graph_store.py",
    "tests/compat/test_older_client.py",
    "tests/api/test_s3_server.py",
    "tests/api/test_streaming.py",
    "tests/services/test_file_versions.py",
    "tests/tus/test_lifecycle.py",
    "tests/tus/test_tuspy.py",
    "tests/client/test_docs_examples.py",
    "tests/operations/test_shutdown_and_durability.py",
    "tests/faults/test_dedup.py",
    "tests/services/test_direct_uploads.py",
    "tests/blobs/test_resumable.py",
    "tests/ui/test_explorer.py",
    "tests/api/test_access_control.py",
)


def _longest_files_first(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)


def _as_set(wanted: object) -> set:
    return set(wanted) if isinstance(wanted, (list, tuple, set)) else {wanted}
