"""VitalSigns objects through the older client, in a separate Python 3.12 environment (VitalSigns
needs 3.12+; VitalGraph never depends on it). The environment is `make vitalsigns`
(.venv-vitalsigns, with `vitalgraph[vitalsigns]`); the test builds it when missing. Without any
Python 3.12 on the machine the test skips, saying so. Building that environment and importing
VitalSigns (it loads transformers and onnxruntime) takes a minute and more, so the test is a stage of
.ci/run of its own (`-m vitalsigns`), not part of `make test`."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv-vitalsigns" / "bin" / "python"

CHILD = r"""
import asyncio, hashlib, uuid
from vital_ai_vitalsigns.vitalsigns import VitalSigns
from vital_ai_vitalsigns.model.GraphObject import GraphObject as VitalSignsObject
from ai_haley_kg_domain.model.KGEntity import KGEntity
from vital_ai_domain.model.FileNode import FileNode
from vitalgraph.client.vitalgraph_client import VitalGraphClient
from vitalgraph.model.spaces_model import Space

async def main():
    VitalSigns()
    client = VitalGraphClient()
    await client.open()
    space = "vs-" + uuid.uuid4().hex[:8]
    assert (await client.spaces.create_space(Space(space=space, space_name="VitalSigns"))).is_success
    entity = KGEntity()
    entity.URI = "http://example.org/vs/acme"
    entity.name = "Acme"
    entity.kGEntityType = "urn:type:org"
    created = await client.kgentities.create_kgentities(space, "urn:kg", [entity])  # VitalSigns objects in
    assert created.created_uris == [str(entity.URI)], created
    got = await client.kgentities.get_kgentity(space, "urn:kg", uri=str(entity.URI))
    ours = got.objects[0]
    assert ours.name == "Acme" and ours.kGEntityType == "urn:type:org"
    back = VitalSignsObject.from_jsonld(ours.to_jsonld())  # and back into VitalSigns
    assert isinstance(back, KGEntity) and str(back.name) == "Acme", back
    assert str(back.kGEntityType) == "urn:type:org"

    node = FileNode()
    node.URI = "http://example.org/vs/report"
    node.name = "report.txt"
    assert (await client.files.create_file(space, [node])).is_success
    data = b"vitalsigns bytes\n" * 1000
    uploaded = await client.files.upload_file_content(space, None, str(node.URI), data, "report.txt", "text/plain")
    assert uploaded.file_size == len(data) and uploaded.sha256 == hashlib.sha256(data).hexdigest()
    stored = (await client.files.get_file(space, str(node.URI))).file
    as_vitalsigns = VitalSignsObject.from_jsonld(stored.to_jsonld())
    assert isinstance(as_vitalsigns, FileNode) and str(as_vitalsigns.name) == "report.txt"
    assert await client.files.download_file_content(space, None, str(node.URI)) == data
    await client.spaces.delete_space(space)
    await client.close()
    print("ROUNDTRIP-OK")

asyncio.run(main())
"""


def python312() -> str | None:
    for candidate in [
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python"))),
    ]:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def vitalsigns_python() -> Path:
    interpreter = python312()
    if interpreter is None:
        pytest.skip(
            "VitalSigns (vital-ai-vitalsigns) needs Python 3.12+, and no Python 3.12 is installed here"
        )
    if not (VENV_PYTHON.parent.parent / ".installed").exists():
        built = subprocess.run(
            ["make", f"PYTHON312={interpreter}", "vitalsigns"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return VENV_PYTHON


@pytest.mark.vitalsigns
@pytest.mark.timeout(3700)
def test_vitalsigns_objects_round_trip(vitalsigns_python: Path, local_server, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VITALGRAPH_", "LOCAL_CLIENT_"))}
    env.update(
        {
            "VITAL_HOME": str(tmp_path),  # VitalSigns reads its (optional) config from here
            "VITALGRAPH_CLIENT_ENVIRONMENT": "local",
            "LOCAL_CLIENT_SERVER_URL": local_server.url,
            "LOCAL_CLIENT_AUTH_USERNAME": "admin",
            "LOCAL_CLIENT_AUTH_PASSWORD": ADMIN_PASSWORD,
        }
    )
    done = subprocess.run(
        [str(vitalsigns_python), "-c", CHILD], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().endswith("ROUNDTRIP-OK")
