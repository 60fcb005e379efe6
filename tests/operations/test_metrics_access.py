"""METRICS_ACCESS: open, token-protected (the default off loopback), or a port of its own."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.servers import free_port
from vitalgraph.config import Settings, SettingsError, load_settings

http = httpx.Client(timeout=120)  # a bound for a hang: the shared machine is slow, not broken


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "open"),
        ("localhost", "open"),
        ("::1", "open"),
        ("0.0.0.0", "token"),
        ("10.1.2.3", "token"),
    ],
)
def test_auto_is_open_on_loopback_and_token_elsewhere(host, expected):
    assert Settings(HOST=host).metrics_access == expected


def test_an_explicit_choice_wins_over_the_host():
    assert Settings(HOST="0.0.0.0", METRICS_ACCESS="open").metrics_access == "open"
    assert Settings(HOST="127.0.0.1", METRICS_ACCESS="token").metrics_access == "token"


def test_port_access_needs_a_port_and_a_port_needs_port_access():
    with pytest.raises(SettingsError, match="VITALGRAPH_METRICS_PORT is required"):
        load_settings(METRICS_ACCESS="port")
    with pytest.raises(SettingsError, match="VITALGRAPH_METRICS_PORT"):
        load_settings(METRICS_PORT=9100)


def test_open_on_loopback_by_default(local_server):
    response = http.get(f"{local_server.url}/metrics")
    assert response.status_code == 200 and "vitalgraph_uploaded_bytes_total" in response.text


def test_token_access_refuses_anonymous_and_bad_tokens(server_factory):
    server = server_factory({"VITALGRAPH_METRICS_ACCESS": "token"})
    anonymous = http.get(f"{server.url}/metrics")
    assert anonymous.status_code == 401 and "METRICS_ACCESS=token" in anonymous.json()["detail"]
    forged = http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    allowed = http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {server.token()}"})
    assert allowed.status_code == 200 and "vitalgraph_errors_total" in allowed.text
    assert http.get(f"{server.url}/health").status_code == 200  # the probes stay open


def test_port_access_serves_metrics_only_on_their_own_port(server_factory):
    port = free_port()
    server = server_factory({"VITALGRAPH_METRICS_ACCESS": "port", "VITALGRAPH_METRICS_PORT": str(port)})
    on_api_port = http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {server.token()}"})
    assert on_api_port.status_code == 404 and "METRICS_PORT" in on_api_port.json()["detail"]
    assert http.get(f"{server.url}/api/spaces").status_code == 401  # the API port is unchanged
    own = http.get(f"http://127.0.0.1:{port}/metrics")
    assert own.status_code == 200 and "vitalgraph_request_duration_seconds" in own.text
    server.stop()
    with pytest.raises(httpx.TransportError):  # stopping the server frees the metrics port
        http.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
