"""Deduplication within a space, on both blob stores: identical bytes are stored once, every node
sharing them keeps them until the last one lets go (deleted or replaced, in every order), racing
uploads and deletes of the same content lose nothing and leave no orphan, and blobs are never
shared across spaces."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import threading
import uuid

from tests.faults.state import content_facts, make_space

KiB, MiB = 1024, 1024 * 1024


def _new_nodes(api, space: str, count: int) -> list[str]:
    uris = [f"http://example.org/{space}/file/{uuid.uuid4().hex}" for _ in range(count)]
    body = [{"@id": u, "@type": "http://vital.ai/ontology/vital#FileNode"} for u in uris]
    response = api.post("/api/files", params={"space_id": space}, json=body)
    assert response.status_code == 201, response.text
    return uris


def _upload(api, space: str, uri: str, data: bytes) -> dict:
    response = api.post("/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data)
    assert response.status_code == 200, response.text
    return response.json()


def _download(api, space: str, uri: str) -> bytes:
    response = api.get("/api/files/stream/download", params={"space_id": space, "uri": uri})
    assert response.status_code == 200, response.text
    return response.content


def _delete(api, space: str, uri: str) -> None:
    response = api.delete("/api/files", params={"space_id": space, "uri": uri})
    assert response.status_code == 200, response.text


def _keys(api, space: str) -> dict[str, str]:
    """uri -> blob key, for the nodes with content."""
    return {uri: fact[1] for uri, fact in content_facts(api, space).items() if fact}


def _assert_no_orphans(api, spaces: list[str], store) -> None:
    referenced = {key for space in spaces for key in _keys(api, space).values()}
    assert set(store.stored()) == referenced, "orphan or missing blobs"
    assert store.staging() == []
    report = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()
    assert (report["ok"], report["missing"], report["corrupt"], report["orphaned"]) == (True, [], [], [])


def test_identical_uploads_share_one_blob_until_the_last_node_lets_go_in_every_order(server_factory, backend):
    server = server_factory(backend.env)
    store = backend.view(server)
    data = os.urandom(300 * KiB)
    other = os.urandom(10 * KiB)
    with server.client() as api:
        space = make_space(api)
        for order in itertools.permutations(range(3)):
            uris = _new_nodes(api, space, 3)
            for uri in uris:
                assert _upload(api, space, uri, data)["sha256"] == hashlib.sha256(data).hexdigest()
            keys = _keys(api, space)
            assert len({keys[u] for u in uris}) == 1, "identical bytes in one space share one blob"
            shared = keys[uris[0]]
            assert store.stored()[shared] == len(data)
            for step, n in enumerate(order):
                if step == 1:  # one node lets go by being replaced, the others by being deleted
                    _upload(api, space, uris[n], other)
                else:
                    _delete(api, space, uris[n])
                left = [uris[m] for m in order[step + 1 :]]
                for uri in left:
                    assert _download(api, space, uri) == data
                assert (shared in store.stored()) == bool(left)
            _assert_no_orphans(api, [space], store)
        other_space = make_space(api)
        (uri,) = _new_nodes(api, other_space, 1)
        (mine,) = _new_nodes(api, space, 1)
        _upload(api, space, mine, data)
        _upload(api, other_space, uri, data)
        assert _keys(api, space)[mine] != _keys(api, other_space)[uri], "spaces never share blobs"
        _assert_no_orphans(api, [space, other_space], store)


def test_racing_uploads_and_deletes_of_the_same_content_lose_nothing_and_leave_no_orphan(
    server_factory, backend
):
    server = server_factory(backend.env)
    store = backend.view(server)
    data = os.urandom(200 * KiB)
    with server.client() as api:
        space = make_space(api)
        for _round in range(3):
            first, *racers = _new_nodes(api, space, 7)
            _upload(api, space, first, data)
            errors: list[BaseException] = []

            def run(action, *args, errors: list[BaseException] = errors) -> None:
                try:
                    with server.client() as own:
                        action(own, space, *args)
                except BaseException as exc:  # noqa: BLE001 (reported below)
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(_upload, uri, data)) for uri in racers]
            threads.insert(3, threading.Thread(target=run, args=(_delete, first)))  # the first holder goes
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            for uri in racers:
                assert _download(api, space, uri) == data
            _assert_no_orphans(api, [space], store)
        keys = set(_keys(api, space).values())
        # racers that committed before any of them could see another's blob may each keep one copy;
        # every later upload adopts an existing one
        assert len(keys) <= 3 * len(racers)
        (late,) = _new_nodes(api, space, 1)
        _upload(api, space, late, data)
        assert _keys(api, space)[late] in keys
    _assert_no_orphans_after_gc(server, store, space)


def _assert_no_orphans_after_gc(server, store, space: str) -> None:
    """gc (run by the CLI on the stopped server's data) keeps every shared blob and finds no orphan."""
    with server.client() as api:
        referenced = set(_keys(api, space).values())
    before = store.stored()
    assert set(before) == referenced
    server.stop()
    result = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "gc", "--data-dir", str(server.data_dir)]
        + ["--stale-upload-seconds", "0", "--orphan-min-age-seconds", "0"],
        env={**os.environ, **{k: v for k, v in server.env.items() if k.startswith("VITALGRAPH_")}},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert store.stored() == before, "gc removed a shared blob (or there was an orphan)"
