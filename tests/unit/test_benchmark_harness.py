"""The benchmark harness's own logic: ratios and targets (benchmarks/all.py) and the py-spy stage folding
(benchmarks/profile.py), on made-up samples. tests/load/test_benchmark_all.py runs the harness for real."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import all as bench_all
from benchmarks import profile
from benchmarks._common import MiB

REPO_ROOT = Path(__file__).resolve().parents[2]


def line_of(path: str, text: str) -> int:
    """The 1-based number of the first line of `path` (repo-relative) that contains `text`."""
    for number, line in enumerate((REPO_ROOT / path).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def test_ratio_is_the_median_of_per_repetition_ratios_against_the_fastest_baseline():
    # repetition 1: 100 against max(50, 80) = 1.25; 2: 90 against max(100, 60) = 0.9; 3: 60 against 120 = 0.5
    figure = bench_all.throughput_figure(
        "S3 store upload",
        100 * MiB,
        [100.0, 90.0, 60.0],
        {"aiobotocore direct": [50.0, 100.0, 120.0], "obstore direct": [80.0, 60.0, 10.0]},
    )
    assert figure.ratio == pytest.approx(0.9)
    assert figure.ours == 90.0 and figure.baseline == 100.0  # medians of VitalGraph and of the best baseline
    assert figure.baseline_name == "aiobotocore direct / obstore direct"  # aiobotocore won 2 of 3
    assert figure.met is False and figure.target == ">= 0.95"


def test_targets_are_judged_from_100_mib_only():
    small = bench_all.throughput_figure("local store upload", 4 * MiB, [10.0], {"minimal": [20.0]})
    large = bench_all.throughput_figure("local store upload", 100 * MiB, [30.0], {"minimal": [20.0]})
    assert small.met is None and small.ratio == pytest.approx(0.5)
    assert large.met is True and large.ratio == pytest.approx(1.5)


def test_a_path_without_measurements_is_an_error_not_a_ratio():
    with pytest.raises(RuntimeError, match="no measurement"):
        bench_all.throughput_figure("local store upload", MiB, [], {"minimal": [1.0]})


def load_report(transfers: int, p99: float, probes: int = 20) -> bench_all.load.LoadReport:
    return bench_all.load.LoadReport(
        transfers=transfers,
        size=MiB,
        seconds=1.0,
        verified=transfers,
        failures=[],
        probe_count=probes,
        probe_p50_ms=p99 / 2,
        probe_p99_ms=p99,
        probe_max_ms=p99 * 2,
        probe_errors=0,
        health_p99_ms=5.0,
        server_peak_rss_mib=100.0,
        server_loop_lag_max_ms=1.0,
    )


def test_metadata_p99_target_holds_up_to_50_transfers_and_needs_probes():
    assert bench_all.metadata_figure(load_report(50, 49.0)).met is True
    assert bench_all.metadata_figure(load_report(50, 51.0)).met is False
    assert bench_all.metadata_figure(load_report(100, 500.0)).met is None  # charted, not judged
    assert bench_all.metadata_figure(load_report(4, math.nan, probes=0)).met is None


def test_table_names_the_machine_and_lists_missed_targets():
    figures = [
        bench_all.throughput_figure("local store download", 100 * MiB, [50.0], {"minimal": [100.0]}),
        bench_all.metadata_figure(load_report(10, 20.0)),
    ]
    results = {
        "machine": bench_all.machine(),
        "load_average_start": [1.0, 2.0, 3.0],
        "load_average_end": [4.0, 5.0, 6.0],
        "seconds": 10.0,
        "seaweedfs_niceness": 10,
        "repeat": 1,
        "skipped": [],
        "figures": [bench_all.asdict(f) for f in figures],
    }
    text = bench_all.table(results)
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["ram_gib"] > 0 and machine["cpu"]
    assert f"{machine['cores']} cores" in text and "nice -n 10" in text and "1.00 2.00 3.00 at start" in text
    assert "| local store download | 100M | 50 MB/s | 100 MB/s (minimal) | 0.50 | >= 1.00 | **NO** |" in text
    assert "| metadata GET p99, S3 store, under load | 10 x 1M | 20.0 ms |" in text
    assert "MISSED TARGETS (1):" in text and "local store download at 100M: ratio 0.50" in text


def test_stages_follow_the_innermost_frame_and_its_source_line():
    local = "vitalgraph/blobs/local.py"
    hash_line, write_line = (
        line_of(local, "self.hasher.update(block)"),
        line_of(local, "self.handle.write(block)"),
    )
    root = "_bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:83)"
    multipart = "vitalgraph/blobs/s3/multipart.py"
    part_copy = line_of(multipart, "part.write(")  # into the in-memory part: a copy, not a file write
    payload_hash = line_of_site_packages("botocore/auth.py", "sha256()")  # the signer hashing the payload
    queue_wait = line_of_stdlib("concurrent/futures/thread.py", "work_queue.get(block=True)")
    raw = "\n".join(
        [
            f'process 1:"python -m vitalgraph.cli serve";{root};_StagedFile.append ({local}:{hash_line}) 30',
            f"{root};_StagedFile.append ({local}:{write_line}) 50",
            "serve (vitalgraph/cli.py:142);Runner.run (asyncio/runners.py:118) 15",
            "run (x.py:1);RequestResponseCycle.receive (uvicorn/protocols/http/httptools_impl.py:570) 3",
            "run (x.py:1);S3.put (aiobotocore/client.py:10);sign (botocore/auth.py:400) 2",
            f"run (x.py:1);S3.put (aiobotocore/client.py:10);payload (botocore/auth.py:{payload_hash}) 5",
            "run (x.py:1);S3.put (aiobotocore/client.py:10);send (aiohttp/client.py:500) 4",
            f"_bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:{queue_wait}) 99",
            "solve_dependencies (fastapi/dependencies/utils.py:810) 1",
            f"cut_parts ({multipart}:{part_copy}) 6",
        ]
    )
    stages = profile.fold(profile.parse_raw(raw))
    assert stages == {
        "SHA-256": 30,
        "file write": 50,
        "event loop, in C": 15,
        "receive / HTTP parsing": 3,
        "S3 signing + checksums": 7,
        "S3 client": 4,
        "other Python": 1,
        "S3 part copy": 6,
    }  # the 99 samples of a thread waiting for work are idle, not counted


def line_of_stdlib(path: str, text: str) -> int:
    return _line_in(profile.SOURCE_ROOTS[2] / path, text)


def line_of_site_packages(path: str, text: str) -> int:
    return _line_in(profile.SOURCE_ROOTS[1] / path, text)


def _line_in(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def test_stage_cpu_is_the_sample_share_of_the_measured_server_cpu():
    samples = profile.Counter({"SHA-256": 25, "file write": 75})
    result = profile.Profile("local", "upload", 512 * MiB, 100.0, 2.0, None, samples, [])
    assert result.per_gib(result.server_cpu) == pytest.approx(4.0)
    assert result.stage_cpu_per_gib("SHA-256") == pytest.approx(1.0)
    assert result.stage_cpu_per_gib("file write") == pytest.approx(3.0)
    table = profile.breakdown_table([result])
    assert "| SHA-256 | 1.00 |" in table and "| **server total** | **4.00** |" in table
    assert "| SeaweedFS (nice 10) | - |" in table
