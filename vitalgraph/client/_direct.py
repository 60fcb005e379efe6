"""Direct-to-S3 uploads, sans I/O: the plan (each part's SHA-256 from one read of the source), the
server calls, and each part's PUT. The sync and async files endpoints run it with their own I/O
(docs/client.md, "Direct-to-S3 uploads")."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
from collections.abc import Callable
from os import PathLike
from typing import Any, BinaryIO

import httpx

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.models import UploadResult

DIRECT_PATH = "/api/files/direct"
DEFAULT_PART_SIZE = 8 * 1024 * 1024  # S3's smallest part is 5 MiB (the last may be shorter)
HASH_BLOCK = 1024 * 1024
DIRECT_PARTS_IN_FLIGHT = 4  # parts PUT at once (and held in memory): like the server's S3_MAX_CONCURRENCY
DirectSource = str | PathLike | bytes | BinaryIO


class DirectPlan:
    """One file to send straight to S3: its size, each part's SHA-256 (base64) and the whole file's."""

    def __init__(
        self,
        source: DirectSource,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        progress: Callable[[int, int | None], Any] | None = None,
        upload_id: str | None = None,
    ) -> None:
        if part_size < 1:
            raise ValueError("part_size must be at least 1 byte")
        self.part_size = part_size
        self.progress = progress
        self.upload_id = upload_id
        self._owned = isinstance(source, (str, PathLike))
        if isinstance(source, (str, PathLike)):
            self.file: BinaryIO = open(os.fspath(source), "rb")  # noqa: SIM115 - closed by close()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self.file = io.BytesIO(bytes(source))
        else:
            self.file = source
        self.start_offset = self.file.tell()
        self.size = 0
        self.part_sha256: list[str] = []
        self.sha256 = ""
        self.sent = 0
        self._lock = threading.Lock()  # parts are read and counted from several threads

    def hash_source(self) -> None:
        """One read of the source: each part's SHA-256 and the whole file's (blocking: run on a thread)."""
        whole = hashlib.sha256()
        self.file.seek(self.start_offset)
        while True:
            part = hashlib.sha256()
            length = 0
            while length < self.part_size:
                block = self.file.read(min(HASH_BLOCK, self.part_size - length))
                if not block:
                    break
                part.update(block)
                whole.update(block)
                length += len(block)
            if length == 0:
                break
            self.part_sha256.append(base64.b64encode(part.digest()).decode("ascii"))
            self.size += length
            if length < self.part_size:
                break
        self.sha256 = whole.hexdigest()

    def read_part(self, number: int) -> bytes:
        """Part `number`'s bytes (blocking: run on a thread)."""
        with self._lock:
            self.file.seek(self.start_offset + (number - 1) * self.part_size)
            return self.file.read(min(self.part_size, self.size - (number - 1) * self.part_size))

    def close(self) -> None:
        if self._owned:
            self.file.close()

    # ------------------------------------------------------------ server calls

    def start_call(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        *,
        filename: str | None,
        content_type: str | None,
    ) -> Call[dict[str, Any]]:
        return Call(
            "POST",
            DIRECT_PATH,
            _json,
            params=query(space_id=space_id, graph_id=graph_id, uri=file_uri),
            json={
                "size": self.size,
                "part_size": self.part_size,
                "part_sha256": self.part_sha256,
                "sha256": self.sha256,
                "content_type": content_type,
                "filename": filename,
            },
        )

    def status_call(self, upload_id: str) -> Call[dict[str, Any]]:
        return Call("GET", f"{DIRECT_PATH}/{upload_id}", _json)

    def complete_call(self, upload_id: str) -> Call[UploadResult]:
        return Call("POST", f"{DIRECT_PATH}/{upload_id}/complete", model_reply(UploadResult))

    def abort_call(self, upload_id: str) -> Call[None]:
        return Call("DELETE", f"{DIRECT_PATH}/{upload_id}", lambda response: None)

    # ------------------------------------------------------------ parts

    def parts_to_send(self, reply: dict[str, Any]) -> list[dict[str, Any]]:
        """The parts S3 does not hold yet; the ones it holds count as sent."""
        self.upload_id = reply["upload_id"]
        if reply["size"] != self.size or reply["part_size"] != self.part_size:
            raise VitalGraphClientError(
                f"direct upload {self.upload_id} is for {reply['size']} bytes in parts of "
                f"{reply['part_size']}, not this source's {self.size} in parts of {self.part_size}"
            )
        done = set(reply.get("parts_done", []))
        for number in done:
            self.sent_part(number)
        return [part for part in reply["parts"] if part["number"] not in done]

    def sent_part(self, number: int) -> None:
        with self._lock:
            self.sent += min(self.part_size, self.size - (number - 1) * self.part_size)
            sent = self.sent
        if self.progress is not None:
            self.progress(sent, self.size)

    def check(self, result: UploadResult) -> UploadResult:
        if (result.size, result.sha256) != (self.size, self.sha256):
            raise VitalGraphClientError(
                f"the server stored {result.size} bytes with SHA-256 {result.sha256}, "
                f"but {self.size} bytes with SHA-256 {self.sha256} were sent"
            )
        return result


def part_error(part: dict[str, Any], response: httpx.Response) -> VitalGraphClientError | None:
    """Why S3 refused a part's PUT, or None when it took it."""
    if response.is_success:
        return None
    return VitalGraphClientError(
        f"S3 refused part {part['number']} ({response.status_code}): {response.text.strip()[:300]}"
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    document: dict[str, Any] = response.json()
    return document
