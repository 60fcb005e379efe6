"""The knowledge-graph example in docs/client.md runs as written (it uses the mock, so no server)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def documented_code(marker: str) -> str:
    found = re.search(rf"<!-- test: {marker} -->\s*```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found, f"no python block marked {marker} in {DOCS}"
    return found.group(1)


def test_kg_example_runs_as_written(capsys):
    exec(compile(documented_code("kg-example"), str(DOCS), "exec"), {"__name__": "docs_example"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "1"
    assert printed[1] == "Acme [('http://example.org/org/acme/annual-report', 11534336)]"
    assert printed[-2] == "['http://example.org/org/acme/annual-report']"
    assert printed[-1] == "file node not found: http://example.org/org/acme/annual-report"
