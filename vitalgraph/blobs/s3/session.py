"""The S3 client session: one aiobotocore client for a store's lifetime, its retries and timeouts,
the bucket check at start, key mapping under the prefix, and botocore failures turned into typed errors.

Everything else in the S3 store talks to S3 through a session and its public methods only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from typing import Any, TypeVar

import aiohttp
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from botocore.handlers import add_expect_header

from vitalgraph.blobs.base import check_key, check_prefix
from vitalgraph.errors import NotFoundError, StorageUnavailableError

log = logging.getLogger("vitalgraph.blobs.s3")
T = TypeVar("T")

TOTAL_ATTEMPTS = 3  # one try and two retries: rides out a 503 SlowDown, fails fast on a dead endpoint
CONNECT_TIMEOUT_CAP = 3.0  # seconds; a connection on a working network takes milliseconds
# aiohttp has no pool-wait timeout, and every streaming download holds a connection for as long as
# its client reads: a large pool keeps slow downloaders from starving every other request.
POOL_CONNECTIONS = 256
# A request body is sent with no timeout of its own; give up on a part if it crawls below this rate.
SLOWEST_SEND_BYTES_PER_SECOND = 256 * 1024
CREDENTIAL_ERRORS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "InvalidToken"}
MISSING_KEY_ERRORS = {"NoSuchKey", "404", "NotFound"}
MISSING_UPLOAD_ERRORS = {"NoSuchUpload", "404"}
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class S3Session:
    """A bucket, a prefix in it, and the client that reaches them; `open()` before use, `close()` after."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        addressing_style: str,
        prefix: str,
        create_bucket: bool,
        timeout_seconds: float,
        max_parts_in_flight: int,
    ) -> None:
        prefix = prefix.strip("/")
        if prefix and (not _PREFIX_PATTERN.fullmatch(prefix) or ".." in prefix.split("/")):
            raise ValueError(
                f"S3_PREFIX {prefix!r} must be names of letters, digits, '.', '_' or '-' joined by '/'"
            )
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = prefix
        self.create_bucket = create_bucket
        self.timeout_seconds = timeout_seconds
        self.max_parts_in_flight = max_parts_in_flight
        self._credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self._addressing_style = addressing_style
        self._client: Any = None
        self._exit_stack: AsyncExitStack | None = None
        self._worker_pool: ThreadPoolExecutor | None = None
        self._parts_in_flight: asyncio.Semaphore | None = None  # made in the running loop, on first use
        # Multipart uploads of single requests, aborted by close(): upload id -> object key, and the
        # CreateMultipartUpload calls whose id has not come back yet. Resumable uploads are not here.
        self._live_uploads: dict[str, str] = {}
        self._uploads_starting: set[asyncio.Future[str]] = set()

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region})"

    # ---------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        if self._client is not None:
            return
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=self._client_config(),
                    **self._credentials,
                )
            )
        except (ValueError, BotoCoreError) as exc:  # e.g. a malformed S3_ENDPOINT_URL
            raise StorageUnavailableError(
                f"cannot set up an S3 client for {self.where}: {one_line(exc)}"
            ) from exc
        # No "Expect: 100-continue": it costs a round trip per part, and when the connection drops
        # before the headers go out aiohttp 3.14 leaves that error in a task nobody awaits.
        self._client.meta.events.unregister("before-call.s3", add_expect_header)
        self._exit_stack = stack
        self._worker_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3-digest")
        try:
            await self._ensure_bucket()
        except BaseException:
            await self.close()
            raise

    def _client_config(self) -> AioConfig:
        return AioConfig(
            signature_version="s3v4",
            region_name=self.region,
            # Bodies travel with a CRC32 we compute off the loop, which the server verifies; botocore's
            # own SHA-256 of every body (its default over plain http) would block the loop ~9 ms per part.
            s3={"addressing_style": self._addressing_style, "payload_signing_enabled": False},
            connect_timeout=min(self.timeout_seconds, CONNECT_TIMEOUT_CAP),
            read_timeout=self.timeout_seconds,
            retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
            max_pool_connections=POOL_CONNECTIONS,
            # botocore >= 1.36 would add its own CRC32 to every body, computed on the event loop, and
            # validate downloads the same way; we send ours (see above), so only where S3 requires one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            code, status = error_code(exc), http_status(exc)
            if status == 403 or code in CREDENTIAL_ERRORS:
                raise StorageUnavailableError(await self._explain_forbidden()) from None
            if status != 404 and code not in {"NoSuchBucket", "NotFound"}:
                raise StorageUnavailableError(self.describe(exc, f"checking bucket {self.bucket}")) from None
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise StorageUnavailableError(
                f"no usable S3 credentials for {self.where} ({one_line(exc)}): "
                "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
            ) from None
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            raise StorageUnavailableError(
                f"S3 endpoint {self.where} is unreachable: {one_line(exc)}"
            ) from None
        if not self.create_bucket:
            raise StorageUnavailableError(
                f"S3 bucket {self.bucket} does not exist and S3_CREATE_BUCKET is false"
            )
        with self.failures(f"creating bucket {self.bucket}"):
            try:
                await self._client.create_bucket(Bucket=self.bucket, **self._bucket_location())
            except ClientError as exc:
                if error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        log.info("created S3 bucket %s at %s", self.bucket, self.where)

    async def _explain_forbidden(self) -> str:
        """HEAD responses carry no error code: ask again with a GET to tell bad credentials from a denied bucket."""
        try:
            await self._client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
        except ClientError as exc:
            code = error_code(exc)
            if code in CREDENTIAL_ERRORS:
                return (
                    f"S3 at {self.where} rejected the credentials ({code}): "
                    "check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
                )
            return f"S3 at {self.where} denied access to bucket {self.bucket} ({code or http_status(exc)})"
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            return f"S3 endpoint {self.where} is unreachable: {one_line(exc)}"
        return f"S3 at {self.where} denied HeadBucket on bucket {self.bucket} (403)"

    def _bucket_location(self) -> dict[str, Any]:
        if self.region == "us-east-1":
            return {}  # the one region that refuses an explicit LocationConstraint
        return {"CreateBucketConfiguration": {"LocationConstraint": self.region}}

    async def check(self) -> None:
        if self._client is None:
            raise StorageUnavailableError(f"S3 blob store at {self.where} is not open")
        with self.failures(f"checking bucket {self.bucket}"):
            await self._client.head_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        """Abort the single-request uploads still running (server shutdown), then release the connections."""
        if self._client is not None and self._uploads_starting:
            # An upload S3 has begun but whose id has not reached us yet would escape the abort below.
            with anyio.CancelScope(shield=True):
                await asyncio.wait(self._uploads_starting, timeout=self.timeout_seconds)
        if self._client is not None and self._live_uploads:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(
                    *(
                        self.abort_upload(key, upload_id)
                        for upload_id, key in list(self._live_uploads.items())
                    )
                )
        self._live_uploads.clear()
        if self._exit_stack is not None:
            await self._exit_stack.aclose()
        self._client = self._exit_stack = None
        if self._worker_pool is not None:
            self._worker_pool.shutdown(wait=False)
            self._worker_pool = None

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("the S3 blob store is not open: call open() first")
        return self._client

    async def run_on_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU or disk work (hashing, checksums) on the session's small thread pool."""
        if self._worker_pool is None:
            raise RuntimeError("the S3 blob store is not open: call open() first")
        return await asyncio.get_running_loop().run_in_executor(self._worker_pool, fn, *args)

    def part_slots(self) -> asyncio.Semaphore:
        """Store-wide slots for multipart parts in flight (see S3_MAX_PARTS_IN_FLIGHT)."""
        if self._parts_in_flight is None:
            self._parts_in_flight = asyncio.Semaphore(self.max_parts_in_flight)
        return self._parts_in_flight

    def send_timeout(self, size: int) -> float:
        """How long sending a body of `size` bytes may take, all attempts together."""
        return TOTAL_ATTEMPTS * (self.timeout_seconds + size / SLOWEST_SEND_BYTES_PER_SECOND)

    # ---------------------------------------------------------------- uploads a shutdown aborts

    def upload_starting(self, creating: asyncio.Future[str]) -> None:
        """Track a CreateMultipartUpload in flight, so close() waits for its id before aborting."""
        self._uploads_starting.add(creating)
        creating.add_done_callback(self._uploads_starting.discard)

    def upload_started(self, object_key: str, upload_id: str) -> None:
        self._live_uploads[upload_id] = object_key

    def upload_ended(self, upload_id: str) -> None:
        self._live_uploads.pop(upload_id, None)

    def is_live_upload(self, upload_id: str) -> bool:
        return upload_id in self._live_uploads

    async def abort_upload(self, object_key: str, upload_id: str) -> bool:
        """Abort one multipart upload; a failure is logged, not raised (clean_staging retries later)."""
        self._live_uploads.pop(upload_id, None)
        if self._client is None:
            return False  # closed: close() has aborted it already
        try:
            await self._client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)
        except ClientError as exc:
            if error_code(exc) in MISSING_UPLOAD_ERRORS:
                return False
            log.warning(
                "could not abort upload %s of %s: %s", upload_id, object_key, self.describe(exc, "aborting")
            )
            return False
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            log.warning("could not abort upload %s of %s: %s", upload_id, object_key, one_line(exc))
            return False
        return True

    # ---------------------------------------------------------------- keys

    def object_key(self, key: str) -> str:
        """The bucket key of blob `key`."""
        check_key(key)
        return self.in_prefix(key)

    def object_prefix(self, prefix: str) -> str:
        check_prefix(prefix)
        return self.in_prefix(prefix)

    def in_prefix(self, name: str) -> str:
        """A bucket key under S3_PREFIX, for names the store makes itself (already checked)."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def blob_key(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    # ---------------------------------------------------------------- errors and listings

    @contextmanager
    def failures(self, action: str, missing: str | None = None) -> Iterator[None]:
        """Turn botocore and aiohttp failures into typed errors: NotFoundError or StorageUnavailableError (503)."""
        try:
            yield
        except ClientError as exc:
            if missing is not None and error_code(exc) in MISSING_KEY_ERRORS:
                raise NotFoundError(missing) from None
            raise StorageUnavailableError(self.describe(exc, action)) from exc
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:  # OSError covers TimeoutError
            raise StorageUnavailableError(
                f"S3 endpoint {self.where} failed while {action}: {one_line(exc)}"
            ) from exc

    def describe(self, exc: ClientError, action: str) -> str:
        code = error_code(exc)
        if code in CREDENTIAL_ERRORS:
            return f"S3 at {self.where} rejected the credentials ({code}) while {action}"
        if code == "NoSuchBucket":
            return f"S3 bucket {self.bucket} does not exist (at {self.where})"
        message = exc.response.get("Error", {}).get("Message", "")
        return f"S3 at {self.where} failed while {action}: {code or http_status(exc)} {one_line(message)}".rstrip()

    async def pages(self, operation: str, action: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Pages of a paginated listing, with failures turned into StorageUnavailableError."""
        pages = self.client.get_paginator(operation).paginate(Bucket=self.bucket, **params).__aiter__()
        while True:
            with self.failures(action):
                try:
                    page = await anext(pages)
                except StopAsyncIteration:
                    return
            yield page


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__
