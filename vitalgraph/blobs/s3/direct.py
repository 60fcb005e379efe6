"""Direct-to-S3 multipart uploads: the client PUTs parts to presigned URLs, the server keeps the books.

Each part URL has the part's SHA-256 signed into it (`x-amz-checksum-sha256`): a store that verifies
checksums refuses a part whose bytes hash otherwise, and a client cannot drop or change the header
without breaking the signature. `checksum_support()` measures whether this store really does that
(SeaweedFS 4.48 does; a store that ignores the header would take any bytes), once per process.

State (who uploads what to which node) is one small JSON object per upload under `direct-uploads/`,
outside the blob keys gc scans, so any replica can complete, abort or expire it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from vitalgraph.blobs.base import CHECKSUM_HEADER
from vitalgraph.blobs.s3.multipart import MultipartWriter
from vitalgraph.blobs.s3.session import MISSING_KEY_ERRORS, MISSING_UPLOAD_ERRORS, S3Session
from vitalgraph.blobs.s3.store import S3BlobStore
from vitalgraph.errors import InvalidInputError

log = logging.getLogger("vitalgraph.blobs.s3")

STATE_PREFIX = "direct-uploads/"
PROBE_PREFIX = "direct-probe/"
PROBE_TIMEOUT_SECONDS = 15.0
# CompleteMultipartUpload's answers when the parts are not the ones named (e.g. SeaweedFS: BadDigest
# for a part whose stored bytes do not have the SHA-256 the completion names).
PART_REFUSALS = {"BadDigest", "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidDigest"}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class S3DirectUploads:
    """Presigned multipart uploads and their state, on one open S3BlobStore."""

    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self.session: S3Session = store.session
        self._support: str | None | bool = False  # False: not measured yet; None: verified; str: why not

    def _state_key(self, upload_id: str) -> str:
        return self.session.in_prefix(f"{STATE_PREFIX}{upload_id}.json")

    # ------------------------------------------------------------ capability

    async def checksum_support(self) -> str | None:
        """None when the store refuses a presigned part whose bytes differ from its signed SHA-256 and
        takes one whose bytes match; otherwise why direct uploads cannot be verified by the store."""
        if self._support is False:
            self._support = await self._probe()
            if self._support is not None:
                log.warning("direct-to-S3 uploads are off: %s", self._support)
        return self._support  # type: ignore[return-value]

    async def _probe(self) -> str | None:
        key = self.session.in_prefix(PROBE_PREFIX + uuid.uuid4().hex)
        good = b"vitalgraph direct upload probe"
        try:
            upload_id = (
                await self.session.client.create_multipart_upload(
                    Bucket=self.session.bucket, Key=key, ChecksumAlgorithm="SHA256"
                )
            )["UploadId"]
        except (ClientError, BotoCoreError, aiohttp.ClientError, OSError) as exc:
            return f"the S3 store at {self.session.where} refused a multipart upload with SHA-256 checksums ({exc})"
        try:
            checksum = sha256_b64(good)
            url = await self._part_url(key, upload_id, 1, checksum, 300)
            headers = {CHECKSUM_HEADER: checksum}
            timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.put(url, data=b"X" + good[1:], headers=headers) as altered:
                    altered_status = altered.status
                async with http.put(url, data=good, headers=headers) as matching:
                    matching_status = matching.status
        except (aiohttp.ClientError, OSError) as exc:
            return f"the server could not reach its own S3 store's presigned URLs ({exc})"
        finally:
            await self.session.abort_upload(key, upload_id)
        if altered_status < 300:
            return (
                f"the S3 store at {self.session.where} accepted a part whose bytes differ from the SHA-256 "
                "signed into its URL, so it cannot verify directly uploaded parts"
            )
        if matching_status >= 300:
            return (
                f"the S3 store at {self.session.where} refused a presigned part with a correct SHA-256 "
                f"({matching_status})"
            )
        return None

    # ------------------------------------------------------------ multipart upload

    async def begin(self, key: str, part_size: int) -> str:
        """A multipart upload whose parts carry SHA-256 checksums, begun by the store's one writer; not
        aborted when this process stops (it outlives the request: expiry and gc end it)."""
        writer = MultipartWriter(
            self.session,
            self.session.object_key(key),
            part_size,
            concurrency=1,
            aborted_on_close=False,
            checksum_algorithm="SHA256",
        )
        return await writer.start()

    async def part_urls(
        self, key: str, upload_id: str, part_sha256s: list[str], expires_seconds: int
    ) -> list[str]:
        object_key = self.session.object_key(key)
        return [
            await self._part_url(object_key, upload_id, number, checksum, expires_seconds)
            for number, checksum in enumerate(part_sha256s, start=1)
        ]

    async def _part_url(
        self, object_key: str, upload_id: str, number: int, checksum: str, expires_seconds: int
    ) -> str:
        params = {
            "Bucket": self.session.bucket,
            "Key": object_key,
            "UploadId": upload_id,
            "PartNumber": number,
            "ChecksumSHA256": checksum,
        }
        url: str = await self.session.client.generate_presigned_url(
            "upload_part", Params=params, ExpiresIn=expires_seconds
        )
        return url

    async def parts(self, key: str, upload_id: str) -> list[dict[str, Any]] | None:
        """The parts S3 holds ({PartNumber, Size, ETag, ChecksumSHA256?}), or None if the upload is gone."""
        found: list[dict[str, Any]] = []
        params = {"Key": self.session.object_key(key), "UploadId": upload_id}
        try:
            async for page in self.session.pages("list_parts", f"listing the parts of {key}", **params):
                found.extend(page.get("Parts", []))
        except Exception as exc:  # _pages wraps NoSuchUpload into StorageUnavailableError
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in (
                MISSING_UPLOAD_ERRORS
            ):
                return None
            raise
        return found

    async def complete(
        self, key: str, upload_id: str, parts: list[dict[str, Any]], part_sha256s: list[str]
    ) -> None:
        """Complete with each part's planned SHA-256: a store that kept part checksums checks them too."""
        listed = [
            {
                "PartNumber": part["PartNumber"],
                "ETag": part["ETag"],
                "ChecksumSHA256": part_sha256s[part["PartNumber"] - 1],
            }
            for part in sorted(parts, key=lambda part: part["PartNumber"])
        ]
        with self.session.failures(f"completing the direct upload of {key}"):
            try:
                await self.session.client.complete_multipart_upload(
                    Bucket=self.session.bucket,
                    Key=self.session.object_key(key),
                    UploadId=upload_id,
                    MultipartUpload={"Parts": listed},
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in PART_REFUSALS:
                    message = exc.response.get("Error", {}).get("Message", "")
                    raise InvalidInputError(f"S3 refused the parts ({code}: {message})") from None
                raise

    async def abort(self, key: str, upload_id: str) -> bool:
        return await self.session.abort_upload(self.session.object_key(key), upload_id)

    # ------------------------------------------------------------ state

    async def save_state(self, upload_id: str, state: dict[str, Any]) -> None:
        with self.session.failures(f"saving the state of direct upload {upload_id}"):
            await self.session.client.put_object(
                Bucket=self.session.bucket,
                Key=self._state_key(upload_id),
                Body=json.dumps(state).encode("utf-8"),
                ContentType="application/json",
            )

    async def load_state(self, upload_id: str) -> dict[str, Any] | None:
        try:
            response = await self.session.client.get_object(
                Bucket=self.session.bucket, Key=self._state_key(upload_id)
            )
            async with response["Body"] as body:
                document = await body.read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING_KEY_ERRORS:
                return None
            raise
        state: dict[str, Any] = json.loads(document)
        return state

    async def delete_state(self, upload_id: str) -> None:
        with self.session.failures(f"removing the state of direct upload {upload_id}"):
            await self.session.client.delete_object(
                Bucket=self.session.bucket, Key=self._state_key(upload_id)
            )

    async def upload_ids(self) -> AsyncIterator[str]:
        prefix = self.session.in_prefix(STATE_PREFIX)
        async for page in self.session.pages("list_objects_v2", "listing direct uploads", Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if name.endswith(".json"):
                    yield name.removesuffix(".json")
