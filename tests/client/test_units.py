"""Units without a server: settings, error mapping, download/upload plans and the streaming helpers."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest

from vitalgraph.client import (
    AsyncVitalGraphClient,
    AuthenticationError,
    ClientConfig,
    ClientConfigError,
    ConflictError,
    ContentChangedError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueryTimeoutError,
    ServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
    VitalGraphClient,
    VitalGraphClientError,
)
from vitalgraph.client._requests import Call
from vitalgraph.client._transfer import DownloadPlan, ProgressReporter, filename_from_disposition
from vitalgraph.client.binary import (
    AsyncBytesConsumer,
    AsyncStreamConsumer,
    AsyncStreamGenerator,
    BytesGenerator,
    CallableGenerator,
    FilePathConsumer,
    FilePathGenerator,
    IteratorGenerator,
    StreamGenerator,
    SyncGeneratorAdapter,
    as_async_binary_generator,
    as_binary_consumer,
    as_binary_generator,
    pump_data,
    pump_data_async,
)
from vitalgraph.client.errors import error_for_status

# --- settings -----------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("VITALGRAPH_CLIENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_settings_come_from_the_environment(clean_env):
    clean_env.setenv("VITALGRAPH_CLIENT_SERVER_URL", "http://vg.example:9000")
    clean_env.setenv("VITALGRAPH_CLIENT_USERNAME", "alice")
    clean_env.setenv("VITALGRAPH_CLIENT_PASSWORD", "secret")
    clean_env.setenv("VITALGRAPH_CLIENT_CHUNK_SIZE", "65536")
    clean_env.setenv("VITALGRAPH_CLIENT_TIMEOUT", "5")
    client = VitalGraphClient()
    assert (client.config.server_url, client.config.username, client.config.chunk_size) == (
        "http://vg.example:9000",
        "alice",
        65536,
    )
    assert client.config.password.get_secret_value() == "secret" and "secret" not in repr(client.config)
    assert client.http.timeout.read == 5
    client.close()


def test_file_then_environment_then_arguments(clean_env, tmp_path):
    toml = tmp_path / "client.toml"
    toml.write_text('[client]\nserver_url = "http://from-file"\napi_key = "file-key"\nmax_retries = 7\n')
    clean_env.setenv("VITALGRAPH_CLIENT_MAX_RETRIES", "2")
    config = ClientConfig.load(toml, server_url="http://from-argument")
    assert (config.server_url, config.api_key.get_secret_value(), config.max_retries) == (
        "http://from-argument",
        "file-key",
        2,
    )
    yaml_file = tmp_path / "client.yaml"
    yaml_file.write_text("VITALGRAPH_CLIENT_SERVER_URL: http://yaml\nusername: bob\npassword: pw\n")
    clean_env.setenv("VITALGRAPH_CLIENT_CONFIG_FILE", str(yaml_file))
    assert ClientConfig.load().server_url == "http://yaml"
    assert VitalGraphClient(config_file=yaml_file).config.username == "bob"


def test_bad_settings_name_the_variable(clean_env):
    clean_env.setenv("VITALGRAPH_CLIENT_CHUNK_SIZE", "12")
    with pytest.raises(ClientConfigError, match="VITALGRAPH_CLIENT_CHUNK_SIZE"):
        ClientConfig.load()
    clean_env.delenv("VITALGRAPH_CLIENT_CHUNK_SIZE")
    with pytest.raises(ClientConfigError, match="no credentials"):
        AsyncVitalGraphClient("http://localhost:1")


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, error",
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, InvalidRequestError),
        (429, TooManyRequestsError),
        (500, ServerError),
        (503, ServiceUnavailableError),
        (504, QueryTimeoutError),
        (502, ServerError),
        (418, VitalGraphClientError),
    ],
)
def test_statuses_map_to_typed_errors(status, error):
    raised = error_for_status(status, "what the server said")
    assert type(raised) is error
    assert (raised.status_code, raised.detail, str(raised)) == (
        status,
        "what the server said",
        f"what the server said (HTTP {status})",
    )


def test_retry_after_reaches_the_error_and_503_504_are_server_errors():
    assert error_for_status(429, "busy", "3").retry_after == 3.0
    assert error_for_status(503, "stopping", "1").retry_after == 1.0
    assert error_for_status(429, "busy", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None
    assert error_for_status(429, "busy").retry_after is None
    assert isinstance(error_for_status(504, "slow"), ServerError)
    assert isinstance(error_for_status(503, "down"), ServerError)


# --- plans --------------------------------------------------------------------------------------

DATA = b"0123456789" * 1000
SHA = hashlib.sha256(DATA).hexdigest()
HEADERS = {"etag": f'"{SHA}"', "content-length": str(len(DATA)), "content-type": "text/plain"}


def _plan(**options: object) -> DownloadPlan:
    call = Call("GET", "/api/files/stream/download", lambda _: None)
    return DownloadPlan(
        call, uri="u", config=ClientConfig(api_key="k", max_retries=1), chunk_size=4096, **options
    )


def _response(status: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_download_plan_resumes_the_same_content_only():
    plan = _plan()
    plan.start(_response(200, HEADERS))
    assert plan.feed(DATA[:1000]) == []  # held until a 4096-byte piece is ready
    resume = plan.next_call()
    assert (resume.headers["Range"], resume.headers["If-Range"]) == ("bytes=1000-", f'"{SHA}"')
    with pytest.raises(ContentChangedError):
        plan.start(_response(200, HEADERS))  # If-Range failed: the file was replaced
    with pytest.raises(VitalGraphClientError, match="Content-Range"):
        plan.start(_response(206, {**HEADERS, "content-range": f"bytes 0-9/{len(DATA)}"}))
    plan.start(_response(206, {**HEADERS, "content-range": f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"}))
    pieces = plan.feed(DATA[1000:])
    plan.body_ended()
    assert b"".join([*pieces, *plan.finish()]) == DATA  # verified against the ETag as a whole
    assert plan.result().resumed == 1


def test_download_plan_retries_a_limited_number_of_times():
    from vitalgraph.client import NetworkError

    plan = _plan()
    error = NetworkError("dropped")
    assert plan.retry_delay(error) >= 0
    with pytest.raises(NetworkError):
        plan.retry_delay(error)


def test_progress_never_goes_back():
    seen: list[int] = []
    reporter = ProgressReporter(lambda done, total: seen.append(done), 10)
    for done in (3, 6, 0, 4, 6, 9, 10):  # a resent upload starts counting again from 0
        reporter.report(done)
    assert seen == [3, 6, 9, 10]


def test_content_disposition_names():
    assert filename_from_disposition('attachment; filename="a.pdf"') == "a.pdf"
    both = "attachment; filename=\"p_per.bin\"; filename*=UTF-8''p%C3%A4per.bin"
    assert filename_from_disposition(both) == "päper.bin"  # the exact name wins over the ASCII fallback
    assert filename_from_disposition("attachment") is None


# --- streaming helpers --------------------------------------------------------------------------


def test_generators_describe_their_bytes(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    from_path = FilePathGenerator(path, chunk_size=4096)
    assert (from_path.content_length, from_path.filename, from_path.replayable) == (
        len(DATA),
        "data.bin",
        True,
    )
    assert [len(c) for c in from_path.generate()] == [4096, 4096, len(DATA) - 8192]

    stream = io.BytesIO(b"xyz" + DATA)
    stream.seek(3)
    seekable = StreamGenerator(stream, chunk_size=4096)
    assert (seekable.content_length, seekable.replayable) == (len(DATA), True)
    assert (
        b"".join(seekable.generate()) == DATA == b"".join(seekable.generate())
    )  # replays from where it stood

    calls: list[int] = []

    def produce(count: int) -> Iterator[bytes]:
        calls.append(count)
        yield from (DATA[:10] for _ in range(count))

    callable_source = CallableGenerator(produce, 3, content_length=30, filename="c.bin")
    assert b"".join(callable_source.generate()) == b"".join(callable_source.generate()) == DATA[:10] * 3
    assert (calls, callable_source.replayable, callable_source.filename) == ([3, 3], True, "c.bin")
    assert IteratorGenerator(iter([b"a"])).replayable is False


def test_file_path_consumer_writes_a_part_file_then_renames(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    consumer = FilePathConsumer(target)
    consumer.consume(b"abc")
    assert (tmp_path / "sub" / "out.bin.part").exists()
    assert not target.exists()
    consumer.finalize()
    assert target.read_bytes() == b"abc" and not (tmp_path / "sub" / "out.bin.part").exists()

    failing = FilePathConsumer(target)
    failing.consume(b"new")
    failing.abort()
    assert target.read_bytes() == b"abc" and not (tmp_path / "sub" / "out.bin.part").exists()


def test_pump_data_finalizes_or_aborts(tmp_path):
    target = tmp_path / "pumped.bin"
    pump_data(BytesGenerator(DATA, 1000), FilePathConsumer(target))
    assert target.read_bytes() == DATA

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("disk gone")

    with pytest.raises(OSError):
        pump_data(CallableGenerator(broken), FilePathConsumer(tmp_path / "broken.bin"))
    assert list(tmp_path.iterdir()) == [target]


def test_async_helpers_move_blocking_io_off_the_loop(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(DATA)

    async def main() -> None:
        small_pieces = SyncGeneratorAdapter(
            IteratorGenerator(DATA[i : i + 10] for i in range(0, len(DATA), 10)), batch_bytes=4096
        )
        assert b"".join([c async for c in small_pieces.generate()]) == DATA

        written = io.BytesIO()
        await pump_data_async(as_async_binary_generator(path, 4096), AsyncStreamConsumer(written))
        assert written.getvalue() == DATA

        class AsyncFile:
            def __init__(self) -> None:
                self.data = bytearray()

            async def write(self, chunk: bytes) -> None:
                self.data += chunk

        async_file = AsyncFile()
        await pump_data_async(AsyncStreamGenerator(_async_chunks()), AsyncStreamConsumer(async_file))
        assert bytes(async_file.data) == DATA

        collected = AsyncBytesConsumer()
        await pump_data_async(as_async_binary_generator(io.BytesIO(DATA), 1000), collected)
        assert collected.get_bytes() == DATA

    anyio.run(main)


async def _async_chunks() -> AsyncIterator[bytes]:
    for start in range(0, len(DATA), 999):
        yield DATA[start : start + 999]


def test_unsupported_sources_and_destinations_are_type_errors():
    with pytest.raises(TypeError, match="cannot upload"):
        as_binary_generator(12345, 1024)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AsyncVitalGraphClient"):
        as_binary_generator(_async_chunks(), 1024)
    with pytest.raises(TypeError, match="cannot download"):
        as_binary_consumer(object())  # type: ignore[arg-type]
