"""What the OpenAPI document says about streaming routes that FastAPI cannot infer from their signatures.

The upload handlers read `request.stream()` themselves (so nothing is spooled), and the download handlers
return a hand-built response; without these declarations "Try it out" in /docs could not send a file and
the document would hide 206, 304, 412 and 416.
"""

from __future__ import annotations

from typing import Any

_BINARY = {"type": "string", "format": "binary"}


def upload_body(*, raw: bool, multipart: bool) -> dict[str, Any]:
    """`openapi_extra` declaring the request body of an upload: raw bytes and/or multipart with `file`."""
    content: dict[str, Any] = {}
    if raw:
        content["application/octet-stream"] = {"schema": _BINARY}
    if multipart:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": {"file": {**_BINARY, "description": "the file's bytes (its name is kept)"}},
                "required": ["file"],
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    description = "The file's bytes, streamed to storage as they arrive."
    if raw:
        description += " Raw: the Content-Type header becomes the file's type."
    return {"requestBody": {"required": True, "description": description, "content": content}}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_ETAG = _header('strong ETag: the SHA-256 of the content in quotes, e.g. "9f86d0..."')
_VALIDATORS = {"ETag": _ETAG, "Last-Modified": _header("when the content was stored (HTTP date)")}
_ENTITY = {
    **_VALIDATORS,
    "Accept-Ranges": _header("bytes: ranges may be asked for"),
    "Content-Length": {"description": "bytes in this response body", "schema": {"type": "integer"}},
    "Content-Disposition": _header("attachment, with the stored file name"),
}

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The whole content.",
        "headers": _ENTITY,
        "content": {"application/octet-stream": {"schema": _BINARY}},
    },
    206: {
        "description": "The bytes asked for with Range (one range, or multipart/byteranges for several).",
        "headers": {**_ENTITY, "Content-Range": _header("bytes FIRST-LAST/SIZE")},
        "content": {
            "application/octet-stream": {"schema": _BINARY},
            "multipart/byteranges": {"schema": _BINARY},
        },
    },
    304: {"description": "If-None-Match names the current ETag: not modified.", "headers": _VALIDATORS},
    404: {"description": "No such space, file node or content (or no read access to the space)."},
    412: {"description": "If-Match names no current ETag: the content was replaced.", "headers": _VALIDATORS},
    416: {
        "description": "Range not satisfiable: it starts beyond the end of the content.",
        "headers": {
            **_VALIDATORS,
            "Content-Range": _header("bytes */SIZE"),
            "Accept-Ranges": _header("bytes"),
        },
    },
}
