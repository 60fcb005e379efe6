"""MAX_URI_LENGTH in the model, shared by every path that writes objects (the API and the mocks)."""

from __future__ import annotations

import pytest

from vitalgraph.client import InvalidRequestError
from vitalgraph.errors import InvalidInputError
from vitalgraph.mock import MockVitalGraphClient
from vitalgraph.model import MAX_URI_LENGTH, FileNode, GraphObject, check_uri_length, uri_length

AT_LIMIT = "http://example.org/" + "a" * (MAX_URI_LENGTH - 19)
OVER = AT_LIMIT + "a"


def test_the_limit_counts_utf8_bytes() -> None:
    assert uri_length(AT_LIMIT) == MAX_URI_LENGTH
    assert uri_length("http://e/\u00e9") == 11  # é is two bytes
    assert uri_length("http://e/\ud800") == 12  # a lone surrogate (JSON allows it) counts as it would encode
    assert check_uri_length(AT_LIMIT) == AT_LIMIT
    with pytest.raises(InvalidInputError, match=rf"the limit is {MAX_URI_LENGTH} \(MAX_URI_LENGTH\)"):
        check_uri_length(OVER)
    wide = "http://example.org/" + "\u00e9" * ((MAX_URI_LENGTH - 19) // 2 + 1)  # few characters, many bytes
    with pytest.raises(InvalidInputError):
        check_uri_length(wide)


@pytest.mark.parametrize(
    "obj",
    [
        FileNode(URI=OVER),
        GraphObject.from_jsonld({"@id": "http://e/x", "@type": [FileNode.class_uri, OVER]})[0],
        GraphObject.from_jsonld(
            {"@id": "http://e/x", "@type": FileNode.class_uri, "http://e/p": {"@id": OVER}}
        )[0],
        GraphObject.from_jsonld({"@id": "http://e/x", "@type": FileNode.class_uri, OVER: "v"})[0],
    ],
    ids=["object URI", "type URI", "URI value", "property URI"],
)
def test_every_uri_of_an_object_is_checked(obj: GraphObject) -> None:
    with pytest.raises(InvalidInputError, match="MAX_URI_LENGTH"):
        obj.check_uri_lengths()


def test_objects_at_the_limit_pass() -> None:
    FileNode(URI=AT_LIMIT).check_uri_lengths()


def test_the_mock_client_refuses_an_over_long_uri_like_the_server() -> None:
    with MockVitalGraphClient() as client:
        client.spaces.create_space("uris", "uris")
        with pytest.raises(InvalidRequestError, match="MAX_URI_LENGTH"):
            client.files.create_file("uris", FileNode(URI=OVER, name="n"))
        client.files.create_file("uris", FileNode(URI=AT_LIMIT, name="n"))
        assert client.files.get_file("uris", AT_LIMIT).URI == AT_LIMIT
