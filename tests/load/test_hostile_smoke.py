"""A short run of benchmarks/hostile.py on the local store: normal tenants beside runaway queries,
slowloris, racing writers, deleted spaces, bad bodies and rotating X-Forwarded-For logins.

No acknowledged upload may be lost, no blob orphaned, no response a 5xx other than the documented
refusals, and no limit may be bypassed (the campaign's own findings: an over-long body accepted, a
half request line held past the header timeout, a login throttle escaped). Latencies are not bounded
here: the machine this runs on is shared; `python -m benchmarks.hostile` reports them.
"""

from __future__ import annotations

from benchmarks.hostile import SERVER_ENV, run_campaign


def test_hostile_tenants_lose_nothing_orphan_nothing_and_cause_no_5xx(server_factory):
    server = server_factory(dict(SERVER_ENV), name="hostile")
    report = run_campaign(server.url, server.token(), seconds=6, slowloris_connections=20)
    assert report.acknowledged > 0, report.normal_errors  # the normal tenants did get work done
    assert report.hostile["runaway queries"] > 0 and report.hostile["racing writer rounds"] > 0
    assert report.hostile["spaces deleted mid-upload"] > 0 and report.hostile["nested JSON"] > 0
    assert report.lost == []
    assert report.orphans == [] and report.missing == [] and report.corrupt == []
    assert report.server_errors == []
    assert report.normal_errors == []
    assert report.findings == []
    # Not asserted: report.starved_queries, a normal tenant's small SPARQL query stopped at the 3 s
    # budget while runaway queries hold the query workers. It happens on this loaded machine (see
    # docs/security.md, "Limits of these defences"); the full campaign counts it as a failure.
