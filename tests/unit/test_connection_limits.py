"""ConnectionLimits: the counting behind MAX_CONNECTIONS and MAX_CONNECTIONS_PER_CLIENT."""

from __future__ import annotations

from vitalgraph.api.connections import ConnectionLimits, client_key


def test_clients_are_addresses_and_ipv6_clients_their_64() -> None:
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("/run/vg.sock") == "/run/vg.sock"


def test_per_client_and_overall_caps_and_release() -> None:
    limits = ConnectionLimits(max_connections=4, max_per_client=2)
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is None
    refusal = limits.admit("192.0.2.1")
    assert refusal is not None and "MAX_CONNECTIONS_PER_CLIENT=2" in refusal
    assert limits.admit("192.0.2.2") is None
    assert limits.admit("192.0.2.3") is None
    refusal = limits.admit("192.0.2.4")
    assert refusal is not None and "MAX_CONNECTIONS=4" in refusal
    limits.release("192.0.2.1")
    assert limits.admit("192.0.2.4") is None
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):
        limits.release(host)
    assert limits.total == 0 and not limits.per_client  # nothing left behind for gone clients


def test_trusted_proxies_are_held_only_to_the_overall_cap() -> None:
    limits = ConnectionLimits(max_connections=10, max_per_client=1, trusted_proxies=["10.0.0.0/8"])
    assert all(limits.admit("10.1.2.3") is None for _ in range(5))
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is not None
    limits.release("10.1.2.3")
    assert limits.total == 5 and dict(limits.per_client) == {"192.0.2.1": 1}
