"""The older client's error names, bound to our error classes, so `except VitalGraphClientError`
in existing code catches every error our clients raise."""

from __future__ import annotations

from typing import Any

from vitalgraph.client.errors import NetworkError, ServerError, VitalGraphClientError

VitalGraphClientConnectionError = NetworkError
VitalGraphClientTimeoutError = NetworkError
VitalGraphClientUnavailableError = ServerError


def validate_required_params(**params: Any) -> None:
    """InvalidRequest-style check of the older client: each named parameter must be given."""
    for name, value in params.items():
        if value is None or value == "" or value == []:
            raise VitalGraphClientError(f"Required parameter '{name}' is missing or empty")


def build_query_params(**params: Any) -> dict[str, Any]:
    """The parameters that are set (booleans as 'true' / 'false')."""
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items() if v is not None}


__all__ = [
    "VitalGraphClientConnectionError",
    "VitalGraphClientError",
    "VitalGraphClientTimeoutError",
    "VitalGraphClientUnavailableError",
    "build_query_params",
    "validate_required_params",
]
