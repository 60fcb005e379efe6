"""What a short-lived process loads: `vitalgraph files ...` and the sync client start without the
server's settings machinery and without aiohttp (the async client's transport)."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_loaded_by(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_the_cli_loads_neither_server_settings_nor_aiohttp():
    loaded = modules_loaded_by("import vitalgraph.cli")
    assert "vitalgraph.cli" in loaded
    assert not {"pydantic_settings", "vitalgraph.config", "aiohttp", "fastapi"} & loaded


def test_the_sync_client_does_not_load_aiohttp():
    loaded = modules_loaded_by(
        "from vitalgraph.client import VitalGraphClient\n"
        "VitalGraphClient('http://127.0.0.1:9', api_key='k').close()"
    )
    assert "vitalgraph.client.sync_client" in loaded and "aiohttp" not in loaded


def test_the_async_client_still_uses_aiohttp_by_default():
    loaded = modules_loaded_by(
        "import asyncio\nfrom vitalgraph.client import AsyncVitalGraphClient\n"
        "async def main():\n"
        "    await AsyncVitalGraphClient('http://127.0.0.1:9', api_key='k').close()\n"
        "asyncio.run(main())"
    )
    assert "vitalgraph.client._aiohttp_transport" in loaded
