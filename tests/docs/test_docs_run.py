"""Every shell and Python block of README.md and docs/*.md runs as written, against a server started for it.

Per page, in a fresh temporary directory: the shell blocks run in order as one bash script (so a variable
set in one block is there in the next, as in one terminal), then the Python blocks in order as one
program. The environment is what README.md tells a reader to set up: the venv activated, the server at
http://127.0.0.1:8001 (here the test's server: that address is replaced in the blocks, and
VITALGRAPH_CLIENT_SERVER_URL points the clients' default at it) and its admin password in
VITALGRAPH_ADMIN_PASSWORD. A block marked `<!-- docs-test: skip REASON -->` is counted, not run.
New pages and blocks are picked up by themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import Block, blocks_of, pages
from tests.fixtures.servers import ADMIN_PASSWORD

DOCUMENTED_ADDRESSES = ("127.0.0.1:8001", "localhost:8001")
TIMEOUT_SECONDS = 600
PAGES = [page for page in pages() if blocks_of(page)]


@pytest.fixture(scope="module")
def docs_server(server_factory):
    return server_factory(
        {"VITALGRAPH_FILE_VERSIONS_KEPT": "3"}, name="docs"
    )  # the versions examples show some


def _environment(home: Path, server_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",  # as after `. .venv/bin/activate`
        VIRTUAL_ENV=str(Path(venv_bin).parent),
        VITALGRAPH_ADMIN_PASSWORD=ADMIN_PASSWORD,
        VITALGRAPH_CLIENT_SERVER_URL=server_url,  # the clients' default, 127.0.0.1:8001, moved here
        HOME=str(home),  # nothing the examples write may land in the real home
        PYTHONUNBUFFERED="1",
    )
    return env


def _as_run(code: str, server_url: str) -> str:
    host_port = server_url.removeprefix("http://")
    for address in DOCUMENTED_ADDRESSES:
        code = code.replace(address, host_port)
    return code


def _script(blocks: list[Block], language: str, server_url: str) -> str:
    """One program of the page's blocks of `language`; each announces itself, so a failure is located."""
    parts = []
    for block in blocks:
        if language == "sh":
            # on a line of its own even after output without a final newline (curl's JSON)
            parts.append(f"printf '\\n>>> %s\\n' '{block.where}'\n{_as_run(block.code, server_url)}")
        else:
            parts.append(f"print('\\n>>> {block.where}', flush=True)\n{_as_run(block.code, server_url)}")
    header = "set -euo pipefail\n" if language == "sh" else ""
    return header + "\n".join(parts)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(p.parents[1])) for p in PAGES])
def test_page_runs_as_written(page: Path, docs_server, tmp_path: Path):
    blocks = [block for block in blocks_of(page) if block.skip_reason is None]
    if not blocks:
        return  # every block of the page is marked; test_every_mark_names_its_reason counts them
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    for language, command in (("sh", ["bash", "run.sh"]), ("python", [sys.executable, "run.py"])):
        chosen = [block for block in blocks if block.language == language]
        if not chosen:
            continue
        (workdir / command[1]).write_text(_script(chosen, language, docs_server.url))
        run = subprocess.run(
            command,
            cwd=workdir,
            env=_environment(home, docs_server.url),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
        ran = [line for line in run.stdout.splitlines() if line.startswith(">>> ")]
        assert run.returncode == 0, (
            f"{page.name}: the {language} blocks failed in {ran[-1][4:] if ran else '?'} "
            f"(exit {run.returncode})\n--- stdout\n{run.stdout[-4000:]}\n--- stderr\n{run.stderr[-4000:]}"
        )
        assert len(ran) == len(chosen)
        (workdir / command[1]).unlink()


def test_every_mark_names_its_reason_and_most_blocks_run(capsys):
    every = [block for page in pages() for block in blocks_of(page)]
    marked = [block for block in every if block.skip_reason is not None]
    assert [block.where for block in marked if len(block.skip_reason or "") < 10] == []
    with capsys.disabled():
        print(f"\ndocs examples: {len(every) - len(marked)} blocks run, {len(marked)} marked not runnable:")
        for block in marked:
            print(f"  {block.where}: {block.skip_reason}")
    assert len(every) > len(marked), "no documented block runs"


def test_the_extractor_sees_marks_and_indented_fences(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```sh\necho one\n```\n\n<!-- docs-test: skip starts a server for ever -->\n```bash\n"
        "vitalgraph serve\n```\n\n1. item\n   ```python\n   print(2)\n   ```\n```json\n{}\n```\n"
    )
    monkeypatch.setattr("tests.docs.blocks.REPO", tmp_path)
    found = blocks_of(page)
    assert [(b.language, b.code, b.skip_reason) for b in found] == [
        ("sh", "echo one\n", None),
        ("sh", "vitalgraph serve\n", "starts a server for ever"),
        ("python", "print(2)\n", None),
    ]
