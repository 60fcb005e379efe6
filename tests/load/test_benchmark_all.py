"""`benchmarks/all.py --quick` end to end: every server started, every path measured, one table with the
machine named, charts and results.json written, and nothing left running. Needs the bench extra
(matplotlib, obstore) and curl and openssl; takes about 2-3 minutes on the shared 2-core machine, hence
`measurement` (`.ci/run measurements` installs the extra first)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.measurement, pytest.mark.timeout(900)]

REPO_ROOT = Path(__file__).resolve().parents[2]
THROUGHPUT_PATHS = {
    f"{path} {direction}"
    for path in ("local store", "S3 store", "async client", "sync client", "CLI")
    for direction in ("upload", "download")
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_quick_run_prints_one_table_and_writes_charts(tmp_path):
    out, workdir = tmp_path / "out", tmp_path / "work"
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    run = subprocess.run(
        [sys.executable, "benchmarks/all.py", "--quick", "--sizes", "1M,2M", "--out", str(out)]
        + ["--workdir", str(workdir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    table = run.stdout
    assert "| path | size | VitalGraph | baseline | ratio | target | met |" in table
    assert "cores" in table and "GiB RAM" in table and "load average" in table and "nice -n 10" in table

    results = json.loads((out / "results.json").read_text())
    figures = results["figures"]
    throughput = [f for f in figures if f["unit"] == "MB/s"]
    assert {f["path"] for f in throughput} == THROUGHPUT_PATHS
    assert sorted({f["size"] for f in throughput}) == [1024 * 1024, 2 * 1024 * 1024]
    for figure in throughput:
        assert 0 < figure["ours"] < 1e5 and 0 < figure["baseline"] < 1e5, figure  # MB/s on loopback
        ours, best = _paired(figure)
        assert figure["ratio"] == pytest.approx(ours[0] / best[0]), figure  # one repetition: its ratio
        assert figure["met"] is None  # no size of 100 MiB or more: nothing judged
        assert f"| {figure['path']} | {_size(figure['size'])} |" in table
    loaded = [f for f in figures if f["unit"] == "ms"]
    assert [f["clients"] for f in loaded] == [1, 4]
    four = loaded[1]  # 4 x 16 MiB take seconds: the probe, started before the load, times requests in it
    assert four["runs"]["probes"][0] >= 1 and 0 < four["ours"] < 60_000 and 0 < four["baseline"] < 60_000, (
        four
    )
    assert four["met"] is (four["ours"] <= 50)
    assert math.isnan(loaded[0]["ours"]) or 0 < loaded[0]["ours"] < 60_000, loaded[0]

    for name in ("throughput.png", "ratio.png", "metadata-p99.png"):
        chart = out / name
        assert chart.read_bytes()[:8] == PNG_MAGIC and chart.stat().st_size > 10_000, name
    assert not workdir.exists() or not any(workdir.iterdir())  # the scratch run directory is removed
    after = {child.pid for child in psutil.Process().children(recursive=True)}
    assert after <= before  # no server, SeaweedFS or prober left behind


def _paired(figure: dict) -> tuple[list[float], list[float]]:
    runs = figure["runs"]
    baselines = [values for name, values in runs.items() if name != "VitalGraph"]
    best = [max(values) for values in zip(*baselines, strict=True)]
    return runs["VitalGraph"], best


def _size(size: int) -> str:
    return f"{size // (1024 * 1024)}M"
