"""Multiple organizations with streamed attachments, end to end, with the async client.

    # against a running server (`make serve`; the admin password is printed at its first start)
    python examples/multi_org_crud.py --server http://127.0.0.1:8001 --username admin --password PASSWORD \
        --data-dir ./data
    # with the in-process mock: no server needed
    python examples/multi_org_crud.py --mock

Steps: create a space and KGTypes; create 10 organization KGEntities; upload 2-3 attachments to each by
streaming from generators (one over 50 MiB per organization), all organizations at once; list and get
the entities with their attachments; download every attachment and check its SHA-256; rename an
organization and replace one of its attachments; delete half the organizations with their attachments
and check their bytes left the blob store while the others' stayed; delete the space and check the
store holds nothing of it. Every check raises FlowError on failure; the script exits 1.

The blob store is inspected only where its directory is known: `--data-dir` (the server's data
directory, local blob store) or the mock's own. Without it, deletions are checked through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vitalgraph.client import AsyncVitalGraphClient, NotFoundError
from vitalgraph.model import FileNode, KGEntity, KGEntityType, KGType

MiB = 1024 * 1024
BIG_FILE_SIZE = 51 * MiB  # "one of them > 50 MiB"
ORGANIZATIONS = 10
# One random MiB, made once; every chunk is this block under a header naming its file and index,
# so each file has its own bytes and nothing bigger than a chunk is ever held.
_BLOCK = random.Random(20260101).randbytes(MiB)


class FlowError(AssertionError):
    """A check of the flow failed."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise FlowError(message)


# --- streamed content ---------------------------------------------------------------------------
class Payload:
    """`size` bytes made on the fly, one chunk at a time, hashed as they go out."""

    def __init__(self, seed: str, size: int, chunk_size: int = MiB) -> None:
        self.seed, self.size, self.chunk_size = seed.encode(), size, chunk_size
        self.sha256: str | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        digest, sent, index = hashlib.sha256(), 0, 0
        while sent < self.size:
            length = min(self.chunk_size, self.size - sent)
            header = b"%s:%d:" % (self.seed, index)
            chunk = (header + _BLOCK[:length])[:length]
            digest.update(chunk)
            sent, index = sent + length, index + 1
            yield chunk
        self.sha256 = digest.hexdigest()


@dataclass
class Attachment:
    org_uri: str
    file_uri: str
    name: str
    size: int
    sha256: str
    blob_key: str


class BlobProbe(Protocol):
    """Looks into the blob store behind the server: does a blob key exist, which keys are under a prefix."""

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> list[str]: ...


@dataclass
class LocalBlobProbe:
    """Looks into a local blob store's directory (`<data dir>/blobs`), found when first needed."""

    root: Callable[[], Path]

    def exists(self, key: str) -> bool:
        return (self.root() / key).is_file()

    def keys(self, prefix: str = "") -> list[str]:
        base = self.root()
        return sorted(
            str(p.relative_to(base))
            for p in (base / prefix).rglob("*")
            if p.is_file() and not p.relative_to(base).parts[0].startswith(".")
        )


@dataclass
class FlowReport:
    space_id: str
    organizations: list[str]
    attachments: dict[str, Attachment]
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# --- the flow -----------------------------------------------------------------------------------
async def run_flow(
    client: AsyncVitalGraphClient,
    *,
    probe: BlobProbe | None = None,
    organizations: int = ORGANIZATIONS,
    big_file_size: int = BIG_FILE_SIZE,
    big_files: int | None = None,
    log: Callable[[str], None] = print,
) -> FlowReport:
    """Run every step against `client`. `big_files` organizations (default: all) get a > 50 MiB file."""
    big_files = organizations if big_files is None else big_files
    space_id = f"multi-org-{uuid.uuid4().hex[:10]}"
    clock = _Clock(log)
    await client.spaces.create_space(space_id, "Multiple organizations", "examples/multi_org_crud.py")

    # KGTypes: the organization type the entities point at, and a document type for their files.
    org_type = KGEntityType(f"urn:{space_id}:type:organization", name="Organization")
    doc_type = KGType(f"urn:{space_id}:type:document", name="Organization document")
    created = await client.kgtypes.create_kgtypes(space_id, None, [org_type, doc_type])
    check(created.created_count == 2, f"expected 2 KGTypes created, got {created}")

    orgs = [
        KGEntity(f"urn:{space_id}:org:{n}", name=f"Organization {n:02d}", kGEntityType=org_type.URI)
        for n in range(organizations)
    ]
    await client.kgentities.create_kgentities(space_id, None, orgs)
    clock.lap("space, 2 KGTypes, organizations created")

    uploads = await asyncio.gather(
        *(
            _upload_attachments(
                client, space_id, org, big_file_size if n < big_files else 0, extra=n % 2 == 0
            )
            for n, org in enumerate(orgs)
        )
    )
    attachments = {a.file_uri: a for per_org in uploads for a in per_org}
    total = sum(a.size for a in attachments.values())
    clock.lap(f"{len(attachments)} attachments uploaded concurrently ({total / MiB:.0f} MiB)")

    await _check_entities(client, space_id, orgs, attachments, org_type.URI)
    clock.lap("entities listed and got with their attachments")
    await asyncio.gather(*(_check_download(client, space_id, a) for a in attachments.values()))
    clock.lap(f"{len(attachments)} attachments downloaded, SHA-256 verified")
    if probe:
        check(
            all(probe.exists(a.blob_key) for a in attachments.values()),
            "an uploaded blob is not in the store",
        )

    replaced, new = await _update_and_replace(client, space_id, orgs[0], attachments)
    if probe:
        check(
            not probe.exists(replaced.blob_key),
            f"replaced attachment's bytes still stored: {replaced.blob_key}",
        )
    del attachments[replaced.file_uri]
    attachments[new.file_uri] = new
    clock.lap(f"{orgs[0].URI} renamed; {replaced.name} replaced by {new.name}")

    report = FlowReport(space_id, [o.URI for o in orgs], attachments)
    half = organizations // 2
    report.kept, report.deleted = report.organizations[:half], report.organizations[half:]
    await _delete_organizations(client, space_id, report, probe)
    clock.lap(f"{len(report.deleted)} organizations deleted with their attachments; the others' remain")

    await client.spaces.delete_space(space_id)
    with _expect_not_found("the deleted space"):
        await client.spaces.get_space(space_id)
    if probe:
        space_prefix = "/".join(next(iter(attachments.values())).blob_key.split("/")[:2])
        left = probe.keys(space_prefix)
        check(left == [], f"blobs left after the space was deleted: {left[:3]}")
    clock.lap("space deleted; the blob store holds nothing of it")
    report.seconds = clock.laps
    return report


async def _upload_attachments(
    client: AsyncVitalGraphClient, space_id: str, org: KGEntity, big_size: int, extra: bool
) -> list[Attachment]:
    """2 attachments (3 when `extra`), the first `big_size` bytes if given, uploaded one after another."""
    files = [
        ("contract.pdf", "application/pdf", big_size or 3 * MiB + 17),
        ("logo.png", "image/png", 64 * 1024),
    ]
    if extra:
        files.append(("report.txt", "text/plain", MiB + 1))
    done = []
    for name, content_type, size in files:
        done.append(
            await _upload(client, space_id, org.URI, f"{org.URI}:file:{name}", name, content_type, size)
        )
    return done


async def _upload(
    client: AsyncVitalGraphClient,
    space_id: str,
    org_uri: str,
    file_uri: str,
    name: str,
    content_type: str,
    size: int,
) -> Attachment:
    await client.files.create_file(space_id, [FileNode(file_uri, name=name, fileName=name)])
    payload = Payload(file_uri, size)
    result = await client.files.upload_file_stream(
        space_id, None, file_uri, payload.chunks(), filename=name, content_type=content_type
    )
    check(
        result.size == size and result.sha256 == payload.sha256,
        f"{file_uri}: server stored {result.size} bytes / {result.sha256}, sent {size} / {payload.sha256}",
    )
    await client.kgentities.attach_file(space_id, None, org_uri, file_uri)
    node = await client.files.get_file(space_id, file_uri)
    return Attachment(org_uri, file_uri, name, size, result.sha256, node.blobKey)


async def _check_entities(
    client: AsyncVitalGraphClient,
    space_id: str,
    orgs: list[KGEntity],
    attachments: dict[str, Attachment],
    type_uri: str,
) -> None:
    listed = await client.kgentities.list_kgentities(space_id, None, page_size=len(orgs))
    check(
        listed.total_count == len(orgs) and {e.URI for e in listed.entities} == {o.URI for o in orgs},
        f"listed {listed.total_count} entities, expected {len(orgs)}",
    )

    async def one(org: KGEntity) -> None:
        graph = await client.kgentities.get_kgentity(space_id, None, org.URI, include_attachments=True)
        expected = {a.file_uri: a for a in attachments.values() if a.org_uri == org.URI}
        check(graph.entity.kGEntityType == type_uri, f"{org.URI} lost its type")
        check(
            {f.URI for f in graph.files} == set(expected),
            f"{org.URI}: attachments {[f.URI for f in graph.files]}",
        )
        for node in graph.files:
            check(
                node.sha256 == expected[node.URI].sha256 and node.fileLength == expected[node.URI].size,
                f"{node.URI}: metadata says {node.fileLength} bytes / {node.sha256}",
            )

    await asyncio.gather(*(one(org) for org in orgs))


async def _check_download(client: AsyncVitalGraphClient, space_id: str, attachment: Attachment) -> None:
    digest, size = hashlib.sha256(), 0
    async for chunk in client.files.iter_file(space_id, None, attachment.file_uri):
        digest.update(chunk)
        size += len(chunk)
    check(
        (size, digest.hexdigest()) == (attachment.size, attachment.sha256),
        f"{attachment.file_uri}: downloaded {size} bytes / {digest.hexdigest()}, expected "
        f"{attachment.size} / {attachment.sha256}",
    )


async def _update_and_replace(
    client: AsyncVitalGraphClient, space_id: str, org: KGEntity, attachments: dict[str, Attachment]
) -> tuple[Attachment, Attachment]:
    """Rename `org`; swap its logo for a new file (attach the new, detach and delete the old)."""
    org.name = f"{org.name} (renamed)"
    await client.kgentities.update_kgentities(space_id, None, [org])
    check(
        (await client.kgentities.get_kgentity(space_id, None, org.URI)).name == org.name, "rename not stored"
    )

    old = next(a for a in attachments.values() if a.org_uri == org.URI and a.name == "logo.png")
    new = await _upload(
        client, space_id, org.URI, f"{org.URI}:file:logo-v2.png", "logo-v2.png", "image/png", 96 * 1024
    )
    await client.kgentities.detach_file(space_id, None, org.URI, old.file_uri)
    await client.files.delete_file(space_id, old.file_uri)
    now = {f.URI for f in await client.kgentities.list_attached_files(space_id, None, org.URI)}
    expected = {a.file_uri for a in attachments.values() if a.org_uri == org.URI} - {old.file_uri} | {
        new.file_uri
    }
    check(now == expected, f"{org.URI}: attachments after the replacement are {sorted(now)}")
    await _check_download(client, space_id, new)
    with _expect_not_found(old.file_uri):
        await client.files.get_content_info(space_id, None, old.file_uri)
    return old, new


async def _delete_organizations(
    client: AsyncVitalGraphClient, space_id: str, report: FlowReport, probe: BlobProbe | None
) -> None:
    results = await asyncio.gather(
        *(
            client.kgentities.delete_kgentity(space_id, None, uri, delete_attachments=True)
            for uri in report.deleted
        )
    )
    gone = [a for a in report.attachments.values() if a.org_uri in report.deleted]
    kept = [a for a in report.attachments.values() if a.org_uri in report.kept]
    check(
        sorted(u for r in results for u in r.deleted_file_uris) == sorted(a.file_uri for a in gone),
        "the deletions did not report exactly the deleted organizations' files",
    )
    for attachment in gone:
        with _expect_not_found(attachment.file_uri):
            await client.files.get_file(space_id, attachment.file_uri)
    listed = await client.kgentities.list_kgentities(space_id, None)
    check(
        {e.URI for e in listed.entities} == set(report.kept), "the kept organizations are not the ones left"
    )
    for attachment in kept:
        info = await client.files.get_content_info(space_id, None, attachment.file_uri)
        check(info.sha256 == attachment.sha256, f"{attachment.file_uri} changed")
    if probe:
        check(
            not any(probe.exists(a.blob_key) for a in gone), "a deleted organization's bytes are still stored"
        )
        check(all(probe.exists(a.blob_key) for a in kept), "a kept organization's bytes are gone")


@contextlib.contextmanager
def _expect_not_found(what: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError:
        return
    raise FlowError(f"{what} should be gone but is still there")


class _Clock:
    def __init__(self, log: Callable[[str], None]) -> None:
        self.log, self.start, self.laps = log, time.monotonic(), {}

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.laps[step] = now - self.start
        self.log(f"{now - self.start:7.2f} s  {step}")


# --- command line -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--mock", action="store_true", help="use the in-process AsyncMockVitalGraphClient")
    where.add_argument("--server", help="server URL, e.g. http://127.0.0.1:8001")
    parser.add_argument("--username", help="default: VITALGRAPH_CLIENT_USERNAME")
    parser.add_argument("--password", help="default: VITALGRAPH_CLIENT_PASSWORD")
    parser.add_argument("--api-key", help="default: VITALGRAPH_CLIENT_API_KEY")
    parser.add_argument(
        "--data-dir", type=Path, help="the server's data dir (local blob store), to inspect it"
    )
    parser.add_argument("--organizations", type=int, default=ORGANIZATIONS)
    parser.add_argument("--big-file-mib", type=int, default=BIG_FILE_SIZE // MiB)
    parser.add_argument("--big-files", type=int, help="organizations that get the big file (default: all)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_run(args))
    except FlowError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


async def _run(args: argparse.Namespace) -> None:
    options: dict[str, Any] = dict(
        organizations=args.organizations, big_file_size=args.big_file_mib * MiB, big_files=args.big_files
    )
    if args.mock:
        from vitalgraph.mock import AsyncMockVitalGraphClient

        async with AsyncMockVitalGraphClient() as client:
            await run_flow(client, probe=LocalBlobProbe(lambda: client.server.data_dir / "blobs"), **options)
        return
    probe = LocalBlobProbe(lambda: args.data_dir / "blobs") if args.data_dir else None
    async with AsyncVitalGraphClient(
        args.server, username=args.username, password=args.password, api_key=args.api_key
    ) as client:
        await run_flow(client, probe=probe, **options)


if __name__ == "__main__":
    raise SystemExit(main())
