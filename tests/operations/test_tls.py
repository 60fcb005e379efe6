"""HTTPS: `serve --certfile --keyfile`, HSTS, the HTTP-to-HTTPS redirect, and clients that verify
certificates by default (a CA bundle of one's own, a wrong host name, an untrusted CA)."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from tests.fixtures.servers import ADMIN_PASSWORD, free_port
from vitalgraph.client import AsyncVitalGraphClient, NetworkError, VitalGraphClient
from vitalgraph.model import FileNode

FILE_URI = "http://example.org/tls/report"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 only, and a second CA nobody trusts."""
    folder = tmp_path_factory.mktemp("pki")
    ca, stranger = trustme.CA(), trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    paths = {
        "ca": folder / "ca.pem",
        "stranger_ca": folder / "stranger.pem",
        "cert": folder / "cert.pem",
        "key": folder / "key.pem",
    }
    ca.cert_pem.write_to_path(paths["ca"])
    stranger.cert_pem.write_to_path(paths["stranger_ca"])
    leaf.private_key_pem.write_to_path(paths["key"])
    with open(paths["cert"], "wb") as out:
        for blob in leaf.cert_chain_pems:
            out.write(blob.bytes())
    return paths


@pytest.fixture(scope="module")
def tls_server(server_factory, pki):
    redirect_port = free_port()
    server = server_factory(
        {
            "VITALGRAPH_TLS_CERTFILE": str(pki["cert"]),
            "VITALGRAPH_TLS_KEYFILE": str(pki["key"]),
            "VITALGRAPH_TLS_REDIRECT_PORT": str(redirect_port),
            "VITALGRAPH_HSTS_MAX_AGE_SECONDS": "31536000",
        }
    )
    server.verify = ssl.create_default_context(cafile=pki["ca"])
    server.redirect_port = redirect_port
    return server


def test_serves_https_with_hsts_and_refuses_plain_http_on_the_tls_port(tls_server):
    assert tls_server.url.startswith("https://")
    response = httpx.get(f"{tls_server.url}/health", verify=tls_server.verify)
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    with pytest.raises(httpx.HTTPError):
        httpx.get(tls_server.url.replace("https://", "http://") + "/health", timeout=5)


def test_plain_http_port_redirects_to_https_keeping_path_query_and_method(tls_server):
    port = tls_server.url.rsplit(":", 1)[1]
    response = httpx.put(
        f"http://127.0.0.1:{tls_server.redirect_port}/api/files/stream/upload?space_id=s&uri=u",
        content=b"x",
    )
    assert response.status_code == 308
    assert (
        response.headers["location"] == f"https://127.0.0.1:{port}/api/files/stream/upload?space_id=s&uri=u"
    )
    assert "strict-transport-security" not in response.headers  # never sent over plain HTTP


def test_sync_client_round_trip_over_verified_tls(tls_server, pki, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    with VitalGraphClient(
        tls_server.url, username="admin", password=ADMIN_PASSWORD, ca_bundle=str(pki["ca"])
    ) as client:
        client.spaces.create_space("tls-sync")
        client.files.create_file("tls-sync", [FileNode(FILE_URI, name="r.bin")])
        uploaded = client.files.upload_file_stream("tls-sync", None, FILE_URI, data)
        assert uploaded.sha256 == hashlib.sha256(data).hexdigest()
        target = tmp_path / "back.bin"
        client.files.download_file_stream("tls-sync", None, FILE_URI, target)
        assert target.read_bytes() == data
        client.spaces.delete_space("tls-sync")


@pytest.mark.anyio
async def test_async_client_round_trip_over_verified_tls(tls_server, pki):
    data = os.urandom(2 * 1024 * 1024 + 5)
    async with AsyncVitalGraphClient(
        tls_server.url, username="admin", password=ADMIN_PASSWORD, ca_bundle=str(pki["ca"])
    ) as client:
        await client.spaces.create_space("tls-async")
        await client.files.create_file("tls-async", [FileNode(FILE_URI, name="r.bin")])
        await client.files.upload_file_stream("tls-async", None, FILE_URI, data)
        chunks = [chunk async for chunk in client.files.iter_file("tls-async", None, FILE_URI)]
        assert b"".join(chunks) == data
        await client.spaces.delete_space("tls-async")


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
def test_clients_refuse_an_untrusted_ca_and_a_wrong_host_name(tls_server, pki, backend):
    port = tls_server.url.rsplit(":", 1)[1]
    cases = {
        "system trust store": dict(server_url=tls_server.url),
        "another CA": dict(server_url=tls_server.url, ca_bundle=str(pki["stranger_ca"])),
        # The certificate names 127.0.0.1 only: "localhost" reaches the same server under another name.
        "wrong host name": dict(server_url=f"https://localhost:{port}", ca_bundle=str(pki["ca"])),
    }
    for what, options in cases.items():
        with pytest.raises(NetworkError, match="(?i)certificate|ssl|hostname"):
            with VitalGraphClient(
                username="admin", password=ADMIN_PASSWORD, http_backend=backend, **options
            ) as client:
                client.spaces.list_spaces()
            pytest.fail(f"{what}: the sync client connected")


@pytest.mark.anyio
async def test_async_client_refuses_a_wrong_host_name(tls_server, pki):
    port = tls_server.url.rsplit(":", 1)[1]
    with pytest.raises(NetworkError, match="(?i)certificate|ssl|hostname"):
        async with AsyncVitalGraphClient(
            f"https://localhost:{port}", username="admin", password=ADMIN_PASSWORD, ca_bundle=str(pki["ca"])
        ) as client:
            await client.spaces.list_spaces()


def test_verify_tls_off_connects_anyway(tls_server):
    with VitalGraphClient(
        tls_server.url, username="admin", password=ADMIN_PASSWORD, verify_tls=False
    ) as client:
        assert client.spaces.list_spaces().total_count >= 0


def test_an_unreadable_ca_bundle_is_a_config_error_naming_the_setting(tls_server, tmp_path):
    from vitalgraph.client import ClientConfigError

    with pytest.raises(ClientConfigError, match="ca_bundle.*VITALGRAPH_CLIENT_CA_BUNDLE"):
        VitalGraphClient(tls_server.url, api_key="x", ca_bundle=str(tmp_path / "missing.pem"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--certfile", "{cert}"], "TLS_CERTFILE and VITALGRAPH_TLS_KEYFILE must be set together"),
        (["--certfile", "{missing}", "--keyfile", "{key}"], "no such file"),
        (["--redirect-port", "9"], "TLS_REDIRECT_PORT needs"),
    ],
)
def test_serve_refuses_bad_tls_options_with_one_line(pki, tmp_path, args, message):
    args = [a.format(cert=pki["cert"], key=pki["key"], missing=tmp_path / "nope.pem") for a in args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    result = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "serve", "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_150_mib_round_trip_over_tls_keeps_server_memory_flat(tls_server, pki):
    """The streaming promise holds under TLS: encryption works chunk by chunk, not on the whole body."""
    from tests.fixtures.memory import PeakRss

    size, piece = 150 * 1024 * 1024, os.urandom(1024 * 1024)
    with VitalGraphClient(
        tls_server.url, username="admin", password=ADMIN_PASSWORD, ca_bundle=str(pki["ca"])
    ) as client:
        client.spaces.create_space("tls-big")
        client.files.create_file("tls-big", [FileNode(FILE_URI, name="big.bin")])
        client.files.upload_file_stream("tls-big", None, FILE_URI, b"warm-up")
        idle = tls_server.rss()
        with PeakRss(tls_server) as upload_peak:
            client.files.upload_file_stream(
                "tls-big", None, FILE_URI, (piece for _ in range(size // len(piece)))
            )
        received = 0
        with PeakRss(tls_server) as download_peak:
            for chunk in client.files.iter_file("tls-big", None, FILE_URI):  # verifies the SHA-256
                received += len(chunk)
        client.spaces.delete_space("tls-big")
    assert received == size
    limit = 64 * 1024 * 1024
    assert upload_peak.peak - idle < limit, f"upload grew RSS by {(upload_peak.peak - idle) >> 20} MiB"
    assert download_peak.peak - idle < limit, f"download grew RSS by {(download_peak.peak - idle) >> 20} MiB"
