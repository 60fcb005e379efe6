"""Server settings: one class, read from VITALGRAPH_* environment variables and an optional TOML/YAML file."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class SettingsError(Exception):
    """Settings could not be loaded; the message is one line naming the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VITALGRAPH_", case_sensitive=False, extra="forbid")

    # Streaming. 1 MiB chunks: 8 KiB chunks ran ~5x slower under uvicorn here (see docs/performance.md).
    STREAMING_CHUNK_SIZE: int = Field(default=1 * MiB, ge=4096, le=64 * MiB)
    STREAMING_ENABLED: bool = True
    MAX_STREAMING_FILE_SIZE: int = Field(default=0, ge=0, description="bytes; 0 = unlimited")
    TRANSFER_LOG_EVERY_MIB: int = Field(default=256, ge=1)
    # Previous contents kept per file (versions: listed, downloaded, restored); 0 keeps none.
    FILE_VERSIONS_KEPT: int = Field(default=0, ge=0, le=1000)
    # A transfer whose client, with the connection open, sends nothing (upload: 408) or reads nothing
    # (download: the connection is closed) for this long is abandoned, so it cannot hold resources forever.
    TRANSFER_IDLE_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0)

    # Where and how.
    DATA_DIR: Path = Path("./data")
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8001, ge=0, le=65535)
    # The URL clients reach this server at (e.g. "https://graph.example.org/vg"): every absolute URL
    # the server hands out (the tus Location, redirects) is built from it. None: from the request.
    PUBLIC_BASE_URL: str | None = None

    # Connections, per server process (see docs/security.md). A client must send a request's line and
    # headers within HEADER_TIMEOUT_SECONDS (else 408 and closed); a connection idle between requests
    # is closed after KEEPALIVE_TIMEOUT_SECONDS. Over MAX_CONNECTIONS in all, or MAX_CONNECTIONS_PER_CLIENT
    # from one address (IPv6: one /64), a new connection is answered 503 and closed.
    HEADER_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    KEEPALIVE_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    MAX_CONNECTIONS: int = Field(default=1000, ge=1)
    MAX_CONNECTIONS_PER_CLIENT: int = Field(default=100, ge=1)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated addresses
    # or networks ("10.0.0.5, 10.1.0.0/16"). Empty: none, the client is the connection's peer.
    TRUSTED_PROXIES: str = ""

    # HTTPS (docs/operations.md): with both files set the server speaks only TLS on PORT.
    TLS_CERTFILE: Path | None = None
    TLS_KEYFILE: Path | None = None
    TLS_REDIRECT_PORT: int = Field(
        default=0, ge=0, le=65535, description="0 = off; else plain HTTP here answers 308 to HTTPS"
    )
    HSTS_MAX_AGE_SECONDS: int = Field(
        default=0, ge=0, description="0 = no Strict-Transport-Security header; only sent over HTTPS"
    )

    # Auth. In production the JWT secret must be given (replicas must share it; see docs/security.md).
    PRODUCTION: bool = False
    ADMIN_USERNAME: str = Field(default="admin", min_length=1)
    ADMIN_PASSWORD: str | None = None
    JWT_SECRET: str | None = Field(default=None, min_length=32)
    ACCESS_TOKEN_TTL_SECONDS: int = Field(default=3600, ge=10)
    REFRESH_TOKEN_TTL_SECONDS: int = Field(default=7 * 24 * 3600, ge=60)
    # Failed logins per (username, client address) in the window before 429; 5x that per client over
    # all usernames. Counted per replica. 0 = no throttling.
    LOGIN_MAX_FAILURES: int = Field(default=10, ge=0)
    LOGIN_FAILURE_WINDOW_SECONDS: int = Field(default=300, ge=1)

    # Backends.
    BLOB_BACKEND: Literal["local", "s3"] = "local"
    GRAPH_BACKEND: Literal["oxigraph", "sparql"] = "oxigraph"

    # S3 blob store.
    S3_ENDPOINT_URL: str | None = None
    S3_BUCKET: str = "vitalgraph"
    S3_REGION: str = "us-east-1"
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: str | None = None
    S3_ADDRESSING_STYLE: Literal["path", "virtual", "auto"] = "path"
    S3_PREFIX: str = ""
    S3_PART_SIZE: int = Field(default=8 * MiB, ge=5 * MiB, le=5 * 1024 * MiB)
    S3_MAX_CONCURRENCY: int = Field(default=4, ge=1, le=64)
    # Parts in flight across all uploads of this server: many concurrent uploads must queue here rather
    # than swamp the S3 server (which then answers too late) and hold a part buffer each.
    S3_MAX_PARTS_IN_FLIGHT: int = Field(default=16, ge=1, le=1024)
    S3_CREATE_BUCKET: bool = True
    S3_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0)

    # SPARQL graph store.
    SPARQL_QUERY_URL: str | None = None
    SPARQL_UPDATE_URL: str | None = None
    SPARQL_USERNAME: str | None = None
    SPARQL_PASSWORD: str | None = None
    # How the username and password are sent: Virtuoso's /sparql-auth takes only HTTP Digest.
    SPARQL_AUTH: Literal["basic", "digest"] = "basic"

    # User SPARQL queries (POST /api/graphs/sparql/...): each stops after SPARQL_QUERY_TIMEOUT seconds
    # (504); a user may run SPARQL_MAX_QUERIES_PER_USER at once and the server SPARQL_MAX_QUERIES in all
    # (429 over either). On the embedded store they run in worker processes at this nice increment.
    SPARQL_QUERY_TIMEOUT: float = Field(default=30.0, gt=0, le=24 * 3600)
    SPARQL_MAX_QUERIES_PER_USER: int = Field(default=2, ge=1)
    SPARQL_MAX_QUERIES: int = Field(default=8, ge=1)
    SPARQL_QUERY_NICE: int = Field(default=10, ge=0, le=19)

    # Maintenance: unfinished uploads older than STALE_UPLOAD_SECONDS and blobs no file node
    # references that are older than ORPHAN_MIN_AGE_SECONDS are removed every GC_INTERVAL_SECONDS.
    STALE_UPLOAD_SECONDS: int = Field(default=24 * 3600, ge=0)
    ORPHAN_MIN_AGE_SECONDS: int = Field(default=3600, ge=0)
    # A replica holds a blob's claim while it releases or adopts that blob. A replica that dies holding
    # one leaves the blob untouched (not released, not collected) until the claim expires.
    BLOB_CLAIM_TTL_SECONDS: float = Field(default=60.0, gt=0)
    GC_INTERVAL_SECONDS: int = Field(
        default=3600, ge=0, description="0 = only at start and by `vitalgraph gc`"
    )

    # Direct-to-S3 uploads (POST /api/files/direct): offered on the S3 store when it verifies the SHA-256
    # signed into each presigned part URL (measured once per process). An upload not completed within
    # DIRECT_UPLOAD_EXPIRY_SECONDS expires (its part URLs with it); gc aborts it.
    DIRECT_UPLOADS_ENABLED: bool = True
    DIRECT_UPLOAD_EXPIRY_SECONDS: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)

    # Resumable uploads (tus): an upload that no PATCH has touched for this long expires (gc removes it).
    TUS_UPLOAD_EXPIRY_SECONDS: int = Field(default=24 * 3600, ge=1)
    # Per user, over every replica sharing DATA_DIR/tus: unfinished uploads open at once, and the bytes
    # they reserve (their Upload-Length; a deferred length counts the bytes staged so far). 0 = no cap.
    TUS_MAX_UPLOADS_PER_USER: int = Field(default=100, ge=0)
    TUS_MAX_BYTES_PER_USER: int = Field(default=1024 * 1024 * MiB, ge=0, description="bytes; default 1 TiB")

    # Browsers: origins allowed to call the API, comma-separated ("*" = any); empty = no CORS headers.
    CORS_ALLOW_ORIGINS: str = ""

    # Operations: log lines, shutdown, readiness, event-loop lag monitor (see docs/configuration.md).
    LOG_FORMAT: Literal["text", "json"] = "text"
    SHUTDOWN_GRACE_SECONDS: float = Field(
        default=30.0, ge=0, description="downloads may finish this long after SIGTERM"
    )
    READY_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    LOOP_LAG_INTERVAL_SECONDS: float = Field(default=0.1, ge=0, description="0 = no event-loop lag monitor")
    LOOP_LAG_WARN_SECONDS: float = Field(default=0.25, gt=0)
    # Who may read /metrics: "open" (anyone who reaches the port), "token" (a valid access or API token),
    # "port" (only on METRICS_PORT, a listener of its own; /metrics on the API port answers 404), or
    # "auto": open when HOST is a loopback address, token otherwise.
    METRICS_ACCESS: Literal["auto", "open", "token", "port"] = "auto"
    METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    METRICS_HOST: str | None = Field(default=None, description="address of the metrics port (default: HOST)")
    # Backups the API writes or reads in a local folder must lie inside this one (s3:// locations too are fine).
    BACKUP_ROOT: Path = Path("./backups")
    # How often the per-space usage gauges (/metrics) are recounted; 0 = not exported.
    USAGE_METRICS_INTERVAL_SECONDS: float = Field(default=60.0, ge=0)
    # The audit trail (docs/operations.md): who did what, kept in the graph store; off = nothing recorded.
    AUDIT_ENABLED: bool = True
    AUDIT_FLUSH_SECONDS: float = Field(
        default=1.0, gt=0, le=60, description="how often queued entries are written"
    )
    # OpenTelemetry traces go to this OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318/v1/traces); unset = off.
    OTLP_ENDPOINT: str | None = None

    @field_validator("S3_PREFIX")
    @classmethod
    def _prefix_is_relative(cls, value: str) -> str:
        value = value.strip("/")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        return value

    @field_validator("TRUSTED_PROXIES")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for entry in _comma_list(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        return value

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if not value:
            return None
        url = urlsplit(value.strip())
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise ValueError(
                "must be an http(s) URL such as https://graph.example.org, without query or fragment"
            )
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> Settings:
        if bool(self.TLS_CERTFILE) != bool(self.TLS_KEYFILE):
            raise ValueError("VITALGRAPH_TLS_CERTFILE and VITALGRAPH_TLS_KEYFILE must be set together")
        for name in ("TLS_CERTFILE", "TLS_KEYFILE"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"VITALGRAPH_{name}={path}: no such file")
        if self.TLS_REDIRECT_PORT and not self.TLS_CERTFILE:
            raise ValueError("VITALGRAPH_TLS_REDIRECT_PORT needs VITALGRAPH_TLS_CERTFILE and _KEYFILE")
        if self.TLS_REDIRECT_PORT and self.TLS_REDIRECT_PORT == self.PORT:
            raise ValueError("VITALGRAPH_TLS_REDIRECT_PORT must differ from VITALGRAPH_PORT")
        return self

    @property
    def tls_enabled(self) -> bool:
        return self.TLS_CERTFILE is not None

    @model_validator(mode="after")
    def _production_needs_jwt_secret(self) -> Settings:
        if self.PRODUCTION and not self.JWT_SECRET:
            raise ValueError(
                "VITALGRAPH_JWT_SECRET is required when VITALGRAPH_PRODUCTION=true "
                "(set it to a random string of at least 32 characters)"
            )
        return self

    @model_validator(mode="after")
    def _metrics_port_given(self) -> Settings:
        if (self.METRICS_ACCESS == "port") != (self.METRICS_PORT is not None):
            raise ValueError(
                "VITALGRAPH_METRICS_PORT is required with VITALGRAPH_METRICS_ACCESS=port, and only then"
            )
        return self

    @property
    def metrics_access(self) -> Literal["open", "token", "port"]:
        """METRICS_ACCESS with "auto" decided: open on a loopback address, token anywhere else."""
        if self.METRICS_ACCESS != "auto":
            return self.METRICS_ACCESS
        return "open" if _is_loopback(self.HOST) else "token"

    @property
    def max_upload_size(self) -> int | None:
        return self.MAX_STREAMING_FILE_SIZE or None

    @property
    def cors_origins(self) -> list[str]:
        return _comma_list(self.CORS_ALLOW_ORIGINS)

    @property
    def trusted_proxies(self) -> list[str]:
        return _comma_list(self.TRUSTED_PROXIES)


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(
            f"config file {path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: expected a table of settings")
    data = data.get("vitalgraph", data)
    return {key.upper().removeprefix("VITALGRAPH_"): value for key, value in data.items()}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from (lowest first) the config file, VITALGRAPH_* variables, then explicit overrides."""
    values: dict[str, Any] = _read_config_file(config_file) if config_file else {}
    env_keys = {name for name in Settings.model_fields if f"VITALGRAPH_{name}" in os.environ}
    for name in env_keys:
        values.pop(name, None)  # the environment wins over the file
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_first_error_line(exc)) from exc


def _first_error_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if not error["loc"]:  # a check across settings: its message names them
        return f"invalid settings: {error['msg'].removeprefix('Value error, ')}"
    name = ".".join(str(part) for part in error["loc"])
    where = f"VITALGRAPH_{name}" if name in Settings.model_fields else name
    shown = error.get("input")
    shown = "***" if "PASSWORD" in name or "SECRET" in name else repr(shown)
    return f"invalid setting {where}={shown}: {error['msg']}"
