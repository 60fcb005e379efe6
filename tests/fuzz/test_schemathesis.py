"""schemathesis over the app's own OpenAPI spec, against a live server: no input may cause a 5xx.

Examples per operation are bounded (MAX_EXAMPLES) so the whole run stays within a couple of minutes;
raise VITALGRAPH_FUZZ_EXAMPLES for a longer hunt. Requests carry an admin bearer token, so they get
past authentication and reach the routes' own validation and the services.
"""

from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from vitalgraph.api.app import create_app
from vitalgraph.config import Settings

MAX_EXAMPLES = int(os.environ.get("VITALGRAPH_FUZZ_EXAMPLES", "25"))

# tus chunks are raw bytes like application/octet-stream, which schemathesis knows how to send.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# The spec is the app's own; building the app starts nothing (stores open in its lifespan).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())

FUZZ_SPACE = "fuzz"
FUZZ_FILE = "http://example.org/fuzz/file"
_alternate = itertools.cycle([True, False])
_examples_run: list[str] = []


@pytest.fixture(scope="module")
def fuzzed_server(server_factory):
    server = server_factory({"VITALGRAPH_MAX_STREAMING_FILE_SIZE": str(1024 * 1024)}, name="fuzz")
    # one real space and a file node with content, so generated requests get past the 404s
    with server.client() as api:
        assert api.post("/api/spaces", json={"space_id": FUZZ_SPACE, "space_name": "fuzz"}).status_code == 201
        node = {"@id": FUZZ_FILE, "@type": "http://vital.ai/ontology/vital#FileNode"}
        assert api.post("/api/files", params={"space_id": FUZZ_SPACE}, json=node).status_code == 201
        params = {"space_id": FUZZ_SPACE, "uri": FUZZ_FILE}
        assert api.post("/api/files/stream/upload", params=params, content=b"fuzz" * 1000).status_code == 200
    return server


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_no_input_causes_a_server_error(case, fuzzed_server):
    # Random space ids stop at "space not found"; send half of the requests into a real space.
    if isinstance(case.query, dict) and "space_id" in case.query and next(_alternate):
        case.query["space_id"] = FUZZ_SPACE
        if "uri" in case.query and next(_alternate):
            case.query["uri"] = FUZZ_FILE
    _examples_run.append(case.operation.label)
    response = case.call(
        base_url=fuzzed_server.url, headers={"Authorization": f"Bearer {fuzzed_server.token()}"}, timeout=30
    )
    case.validate_response(response, checks=[not_a_server_error])


def test_the_server_itself_counted_no_5xx(fuzzed_server, capsys):
    """Runs after the examples above (file order): the server's own request metrics agree."""
    if not _examples_run:
        pytest.skip("meaningful only after the schemathesis examples of this module")
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{fuzzed_server.url}/metrics").text
    counts = [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "vitalgraph_request_duration_seconds_count"
    ]
    total = sum(s.value for s in counts)
    server_errors = sum(s.value for s in counts if s.labels["status"].startswith("5"))
    with capsys.disabled():
        print(f"\nschemathesis: {total:.0f} requests, {server_errors:.0f} answered 5xx")
    assert total >= len(_examples_run) and server_errors == 0
