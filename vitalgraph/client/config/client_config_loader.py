"""The older client's configuration: profile-prefixed environment variables.

`VITALGRAPH_CLIENT_ENVIRONMENT` names the profile (default `local`); `<PROFILE>_CLIENT_<KEY>` is read
first, then `CLIENT_<KEY>`, then the default. Keys: SERVER_URL, AUTH_USERNAME, AUTH_PASSWORD,
TIMEOUT, CONNECT_TIMEOUT, MAX_RETRIES, RETRY_DELAY, USE_MOCK_CLIENT. `to_client_config()` turns it
into our ClientConfig, which is what the older `VitalGraphClient` runs on.
"""

from __future__ import annotations

import os
from typing import Any

from vitalgraph.client.config import ClientConfig
from vitalgraph.client.errors import ClientConfigError


class ClientConfigurationError(ClientConfigError):
    """Raised when the profile's settings are missing or malformed."""


class VitalGraphClientConfig:
    """Settings of one profile, read from the environment when constructed."""

    def __init__(self) -> None:
        self.environment = os.getenv("VITALGRAPH_CLIENT_ENVIRONMENT", "local").upper()
        self.config_path: str | None = None
        self.config_data: dict[str, Any] = self._load_from_env()

    def _get_profile_env(self, key: str, default: str = "") -> str:
        for name in (f"{self.environment}_CLIENT_{key}", f"CLIENT_{key}"):
            value = os.getenv(name)
            if value is not None:
                return value
        return default

    def _number(self, key: str, default: str, kind: type = float) -> Any:
        raw = self._get_profile_env(key, default)
        try:
            return kind(raw)
        except ValueError:
            raise ClientConfigurationError(
                f"{self.environment}_CLIENT_{key} must be a number, not {raw[:40]!r}"
            ) from None

    def _load_from_env(self) -> dict[str, Any]:
        return {
            "server": {
                "url": self._get_profile_env("SERVER_URL", "http://localhost:8001"),
                "api_base_path": self._get_profile_env("API_BASE_PATH", "/api/v1"),
            },
            "auth": {
                "username": self._get_profile_env("AUTH_USERNAME", "admin"),
                "password": self._get_profile_env("AUTH_PASSWORD", "admin"),
            },
            "client": {
                "timeout": self._number("TIMEOUT", "30"),
                "connect_timeout": self._number("CONNECT_TIMEOUT", "10"),
                "max_retries": self._number("MAX_RETRIES", "3", int),
                "retry_delay": self._number("RETRY_DELAY", "1"),
                "use_mock_client": self._get_profile_env("USE_MOCK_CLIENT", "false").lower() == "true",
            },
        }

    def get_server_config(self) -> dict[str, Any]:
        return self.config_data["server"]

    def get_auth_config(self) -> dict[str, Any]:
        return self.config_data["auth"]

    def get_client_config(self) -> dict[str, Any]:
        return self.config_data["client"]

    def get_server_url(self) -> str:
        return self.config_data["server"]["url"]

    def get_api_base_path(self) -> str:
        return self.config_data["server"]["api_base_path"]

    def get_credentials(self) -> tuple[str, str]:
        auth = self.config_data["auth"]
        return auth["username"], auth["password"]

    def get_timeout(self) -> float:
        return self.config_data["client"]["timeout"]

    def get_max_retries(self) -> int:
        return self.config_data["client"]["max_retries"]

    def get_retry_delay(self) -> float:
        return self.config_data["client"]["retry_delay"]

    def use_mock_client(self) -> bool:
        return self.config_data["client"]["use_mock_client"]

    def validate_config(self) -> None:
        url = self.get_server_url()
        if not url.startswith(("http://", "https://")):
            raise ClientConfigurationError(
                f"server URL must start with http:// or https://, not {url[:80]!r}"
            )
        username, password = self.get_credentials()
        if not username or not password:
            raise ClientConfigurationError("username and password must be non-empty")
        if self.get_timeout() <= 0:
            raise ClientConfigurationError("timeout must be positive")

    def to_client_config(self, api_key: str | None = None) -> ClientConfig:
        """Our ClientConfig with these settings (an API key replaces the username and password)."""
        self.validate_config()
        username, password = self.get_credentials()
        credentials = {"api_key": api_key} if api_key else {"username": username, "password": password}
        client = self.config_data["client"]
        return ClientConfig.from_values(
            {
                "server_url": self.get_server_url(),
                **credentials,
                "timeout": client["timeout"],
                "connect_timeout": client["connect_timeout"],
                "max_retries": client["max_retries"],
                "retry_backoff": client["retry_delay"],
            }
        )

    def __str__(self) -> str:
        return f"VitalGraphClientConfig(environment={self.environment}, server_url={self.get_server_url()})"


_instance: VitalGraphClientConfig | None = None


def get_client_config() -> VitalGraphClientConfig:
    global _instance
    if _instance is None:
        _instance = reload_client_config()
    return _instance


def reload_client_config() -> VitalGraphClientConfig:
    global _instance
    _instance = VitalGraphClientConfig()
    _instance.validate_config()
    return _instance
