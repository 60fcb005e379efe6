"""The OpenAPI spec is one a code generator can use: every operation has its own operationId."""

from __future__ import annotations

import collections
import warnings

from vitalgraph.api.app import create_app
from vitalgraph.config import Settings


def test_every_operation_has_a_distinct_operation_id(tmp_path):
    app = create_app(Settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="x" * 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns "Duplicate Operation ID" and goes on
        spec = app.openapi()
    operations = [op for path in spec["paths"].values() for op in path.values() if "operationId" in op]
    counts = collections.Counter(op["operationId"] for op in operations)
    assert [op_id for op_id, n in counts.items() if n > 1] == []
    assert {"get", "head"} <= set(spec["paths"]["/api/files/stream/download"])
    assert {"post", "put"} <= set(spec["paths"]["/api/files/stream/upload"])
