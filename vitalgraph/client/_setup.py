"""What both clients build the same way: the settings, the auth flow and the httpx client options."""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import httpx

from vitalgraph.client._auth import BearerAuth, TokenState
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.endpoints._operation import EndpointGroup
from vitalgraph.client.errors import ClientConfigError

USER_AGENT = "vitalgraph-client/0.1"


def resolve_config(
    config: ClientConfig | None,
    config_file: str | Path | None,
    **arguments: Any,
) -> ClientConfig:
    """`config` as given, else the file, the environment and the arguments; credentials are required."""
    if config is None:
        config = ClientConfig.load(config_file, **arguments)
    elif any(value is not None for value in arguments.values()):
        updates = {name: value for name, value in arguments.items() if value is not None}
        config = type(config).from_values({**config.model_dump(), **updates})
    if not config.credentials_given():
        raise ClientConfigError(
            "no credentials: pass username= and password=, or api_key= "
            "(or set VITALGRAPH_CLIENT_USERNAME/_PASSWORD or VITALGRAPH_CLIENT_API_KEY)"
        )
    return config


def http_options(config: ClientConfig) -> dict[str, Any]:
    """Keyword arguments for httpx.Client / httpx.AsyncClient."""
    api_root = httpx.URL(config.server_url.rstrip("/") + "/")
    tokens = TokenState(
        api_root=api_root,
        username=config.username,
        password=config.password.get_secret_value() if config.password else None,
        api_key=config.api_key.get_secret_value() if config.api_key else None,
    )
    return {
        "base_url": api_root,
        "auth": BearerAuth(tokens),
        "timeout": httpx.Timeout(config.timeout, connect=config.connect_timeout),
        "headers": {"User-Agent": USER_AGENT},
    }


class ClientBase:
    """The base class of both clients (VitalGraphClient, AsyncVitalGraphClient): their one constructor.
    Each client names its httpx client class, default transport, flow driver (`_flow.py`) and, as
    annotated attributes, its endpoint groups; the rest (settings, auth, endpoint wiring) is the same."""

    _http_class: ClassVar[type]
    _default_transport: ClassVar[Callable[[ClientConfig], Any]]
    _driver_class: ClassVar[Callable[[Any], Any]]

    def __init__(
        self,
        server_url: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        config: ClientConfig | None = None,
        config_file: str | Path | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        **settings: Any,
    ) -> None:
        credentials = {"username": username, "password": password, "api_key": api_key}
        self.config = resolve_config(config, config_file, server_url=server_url, **credentials, **settings)
        transport = transport or type(self)._default_transport(self.config)
        self.http = self._http_class(transport=transport, **http_options(self.config))
        self._driver = self._driver_class(self)
        for name, group in typing.get_type_hints(type(self)).items():
            if isinstance(group, type) and issubclass(group, EndpointGroup):
                setattr(self, name, group(self))
