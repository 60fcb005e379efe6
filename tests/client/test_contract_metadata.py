"""Contract: spaces and file node metadata, identical for the four client implementations."""

from __future__ import annotations

import uuid

import pytest

from tests.client.conftest import make_file
from vitalgraph.client import ConflictError, FileList, InvalidRequestError, NotFoundError, Space
from vitalgraph.model import FileNode


def test_space_lifecycle(client):
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    created = client.spaces.create_space(space_id, "Team space", "for tests")
    assert isinstance(created, Space)
    assert (created.space_id, created.space_name, created.space_description) == (
        space_id,
        "Team space",
        "for tests",
    )
    assert client.spaces.get_space(space_id) == created
    listed = client.spaces.list_spaces()
    assert space_id in [s.space_id for s in listed.spaces]
    assert listed.total_count == len(listed.spaces)
    assert client.spaces.delete_space(space_id).space_id == space_id
    with pytest.raises(NotFoundError) as missing:
        client.spaces.get_space(space_id)
    assert missing.value.status_code == 404
    assert space_id in missing.value.detail


def test_creating_a_space_twice_is_a_conflict(client, space):
    with pytest.raises(ConflictError) as conflict:
        client.spaces.create_space(space)
    assert conflict.value.status_code == 409
    assert "already exists" in conflict.value.detail


def test_file_node_crud(client, space):
    uris = [f"http://example.org/{space}/{n}" for n in ("a", "b", "c")]
    created = client.files.create_file(
        space, [FileNode(uris[0], name="a.pdf"), FileNode(uris[1], name="b.png")]
    )
    assert sorted(created.created_uris) == uris[:2]
    assert client.files.create_file(space, FileNode(uris[2], name="c.pdf")).created_count == 1

    node = client.files.get_file(space, uris[0])
    assert isinstance(node, FileNode) and node.name == "a.pdf"
    assert {n.URI for n in client.files.get_files_by_uris(space, uris[:2])} == set(uris[:2])
    assert {n.URI for n in client.files.get_files_by_uris(space, ",".join(uris[1:]))} == set(uris[1:])

    node.name = "renamed.pdf"
    assert client.files.update_file(space, [node]).updated_uris == [uris[0]]
    assert client.files.get_file(space, uris[0]).name == "renamed.pdf"

    assert client.files.delete_file(space, uris[0]).deleted_uris == [uris[0]]
    with pytest.raises(NotFoundError):
        client.files.get_file(space, uris[0])
    assert sorted(client.files.delete_files_batch(space, None, uris[1:]).deleted_uris) == uris[1:]
    assert client.files.list_files(space).total_count == 0


def test_list_files_pages_and_filters(client, space):
    for index in range(5):
        make_file(client, space, name=f"doc-{index}.pdf" if index < 3 else f"img-{index}.png")
    page = client.files.list_files(space, None, page_size=2, offset=1)
    assert isinstance(page, FileList)
    assert (page.total_count, page.page_size, page.offset, len(page.files)) == (5, 2, 1, 2)
    assert all(isinstance(node, FileNode) for node in page.files)
    assert client.files.list_files(space, file_filter="img-").total_count == 2


def test_list_files_sorted_and_filtered_by_name(client, space):
    for name in ("b.pdf", "C.png", "a.txt"):
        make_file(client, space, name=name)
    assert [n.name for n in client.files.list_files(space, sort="name").files] == ["a.txt", "b.pdf", "C.png"]
    assert [n.name for n in client.files.list_files(space, sort="-name").files] == ["C.png", "b.pdf", "a.txt"]
    assert [n.name for n in client.files.list_files(space, name="P", sort="name").files] == ["b.pdf", "C.png"]
    with pytest.raises(InvalidRequestError, match="'sort'"):
        client.files.list_files(space, sort="colour")


def test_graph_id_separates_nodes(client, space):
    uri = f"http://example.org/{space}/in-graph"
    client.files.create_file(space, [FileNode(uri)], "graph-2")
    assert client.files.get_file(space, uri, "graph-2").URI == uri
    with pytest.raises(NotFoundError):
        client.files.get_file(space, uri)


def test_metadata_conflicts_and_missing_nodes(client, space, file_uri):
    with pytest.raises(ConflictError) as conflict:
        client.files.create_file(space, [FileNode(file_uri)])
    assert file_uri in conflict.value.detail
    missing = f"http://example.org/{space}/missing"
    with pytest.raises(NotFoundError):
        client.files.update_file(space, [FileNode(missing)])
    with pytest.raises(NotFoundError):
        client.files.delete_files_batch(space, None, [file_uri, missing])
    assert client.files.get_file(space, file_uri).URI == file_uri  # nothing was deleted


def test_a_metadata_update_with_if_match_applies_only_to_the_version_read(client, space):
    from vitalgraph.client import PreconditionFailedError

    uri = make_file(client, space)
    node = client.files.get_file(space, uri)
    version = node.nodeVersion
    node.name = "first"
    updated = client.files.update_file(space, node, if_match=version)
    assert updated.versions == {uri: version + 1}
    node.name = "stale"
    with pytest.raises(PreconditionFailedError) as stale:
        client.files.update_file(space, node, if_match=version)
    assert stale.value.status_code == 412 and uri in stale.value.detail
    assert isinstance(stale.value, ConflictError)  # code catching 409 conflicts catches this too
    assert client.files.get_file(space, uri).name == "first"
