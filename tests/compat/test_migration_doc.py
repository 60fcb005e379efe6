"""The example in docs/migration.md runs as written and prints what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


def test_migration_example_runs_as_written(capsys) -> None:
    found = re.search(r"<!-- test: migration-example -->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, "no python block marked migration-example"
    exec(compile(found.group(1), str(DOC), "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.splitlines() == ["True", "['Acme']", "5000", "True 5000", "False 404"]
