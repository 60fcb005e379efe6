"""One TLS policy for every transport: verify certificates by default, against a CA bundle if given."""

from __future__ import annotations

import ssl
from functools import lru_cache

from vitalgraph.client.config import ClientConfig
from vitalgraph.client.errors import ClientConfigError


def ssl_context(config: ClientConfig) -> ssl.SSLContext:
    """The context all transports use: with `verify_tls` off, no checks at all (for tests of one's own
    server only); otherwise the system's trust store, or `ca_bundle` in its place."""
    return _context(config.verify_tls, config.ca_bundle)


@lru_cache(maxsize=8)
def _context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ClientConfigError(
            f"client setting 'ca_bundle' (VITALGRAPH_CLIENT_CA_BUNDLE): cannot load {ca_bundle}: {exc}"
        ) from None
