"""Client settings, from (lowest first) a TOML/YAML file, VITALGRAPH_CLIENT_* variables, then arguments."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from vitalgraph.client.errors import ClientConfigError

MiB = 1024 * 1024
ENV_PREFIX = "VITALGRAPH_CLIENT_"
CONFIG_FILE_VARIABLE = "VITALGRAPH_CLIENT_CONFIG_FILE"


class ClientConfig(BaseSettings):
    """Everything a client needs to know besides what to call. Field `x` is variable VITALGRAPH_CLIENT_X."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, extra="forbid", frozen=True
    )

    server_url: str = "http://127.0.0.1:8001"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = Field(default=None, description="a bearer token, sent as is")

    timeout: float = Field(default=60.0, gt=0, description="seconds a read or write may stall")
    connect_timeout: float = Field(default=10.0, gt=0)
    # 1 MiB: the unit of file reads, writes and hand-offs. 8 KiB pieces ran ~5x slower here.
    chunk_size: int = Field(default=1 * MiB, ge=4096, le=64 * MiB)
    max_retries: int = Field(default=3, ge=0, le=100, description="download resumes / safe upload retries")
    retry_backoff: float = Field(default=0.5, ge=0, description="seconds before the first retry, doubling")
    verify_checksum: bool = True
    # "aiohttp" (the default): the fast transports under the httpx API, aiohttp for the async client and
    # urllib3 for the sync one; "httpx": httpx's own transports, 2-3x slower here (docs/performance.md).
    http_backend: Literal["aiohttp", "httpx"] = "aiohttp"
    verify_tls: bool = True
    # A PEM file of CA certificates to trust instead of the system's (e.g. a company CA).
    ca_bundle: str | None = None

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> ClientConfig:
        """Settings from the file (or $VITALGRAPH_CLIENT_CONFIG_FILE), the environment, then `overrides`."""
        config_file = config_file or os.environ.get(CONFIG_FILE_VARIABLE)
        values = read_config_file(Path(config_file)) if config_file else {}
        for name in cls.model_fields:
            if f"{ENV_PREFIX}{name.upper()}" in os.environ:
                values.pop(name, None)  # the environment wins over the file
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> ClientConfig:
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ".".join(str(part) for part in error["loc"])
            variable = f"{ENV_PREFIX}{name.upper()}"
            raise ClientConfigError(f"invalid client setting {name!r} ({variable}): {error['msg']}") from None

    def credentials_given(self) -> bool:
        return bool(self.api_key) or bool(self.username and self.password)


def read_config_file(path: Path) -> dict[str, Any]:
    """A flat table of settings, or one under `[client]` / `[vitalgraph_client]`; keys in any case."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ClientConfigError(f"client config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = path.suffix.lstrip(".") or "YAML"
        raise ClientConfigError(f"client config file {path}: not valid {kind}: {exc}") from None
    data = data or {}
    if isinstance(data, dict):
        data = data.get("client", data.get("vitalgraph_client", data))
    if not isinstance(data, dict):
        raise ClientConfigError(f"client config file {path}: expected a table of settings")
    return {str(key).lower().removeprefix(ENV_PREFIX.lower()): value for key, value in data.items()}
