"""Upload one file with the real tuspy client, resuming from a URL store: run as a separate process.

    python tuspy_upload.py SERVER_URL TOKEN FILE URL_STORE SPACE_ID FILE_URI

Prints `start <offset>` once it knows where it resumes from, and `done <upload url>` at the end.
"""

from __future__ import annotations

import sys

from tusclient.client import TusClient
from tusclient.storage.filestorage import FileStorage

CHUNK_SIZE = 5 * 1024 * 1024  # always set: tuspy's default reads the whole file into memory


def main(server_url: str, token: str, path: str, url_store: str, space_id: str, file_uri: str) -> None:
    client = TusClient(f"{server_url}/api/files/tus/", headers={"Authorization": f"Bearer {token}"})
    uploader = client.uploader(
        path,
        chunk_size=CHUNK_SIZE,
        store_url=True,
        url_storage=FileStorage(url_store),
        upload_checksum=True,
        metadata={
            "space_id": space_id,
            "file_uri": file_uri,
            "filename": "big.bin",
            "filetype": "application/x-test",
        },
        retries=3,
        retry_delay=1,  # e.g. a 409 while the server still finishes the killed process's PATCH
    )
    print("start", uploader.offset, flush=True)
    uploader.upload()
    print("done", uploader.url, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
