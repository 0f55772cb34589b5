"""numerics.sweeps: grid order, caching/resume, executor equivalence."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ptft.numerics.sweeps import grid, run_sweep

CALLS = []


def _square(a, b):
    CALLS.append((a, b))
    return {"value": np.float64(a * a + b), "vec": np.arange(2) * a}


def test_grid_is_cartesian_last_axis_fastest():
    g = grid(a=[1, 2], b=["x", "y", "z"])
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"} and g[1] == {"a": 1, "b": "y"}
    with pytest.raises(ValueError, match="b: axis is empty"):
        grid(a=[1], b=[])


def test_sweep_caches_and_resumes(tmp_path):
    CALLS.clear()
    pts = grid(a=[1, 2, 3], b=[0.5])
    first = run_sweep(_square, pts, cache_dir=tmp_path, progress=False)
    assert [r["value"] for r in first] == [1.5, 4.5, 9.5] and first[2]["vec"] == [0, 3]
    again = run_sweep(_square, pts + [{"a": 4, "b": 0.5}], cache_dir=tmp_path, progress=False)
    assert len(CALLS) == 4 and again[:3] == first and again[3]["value"] == 16.5
    other_version = run_sweep(_square, pts, cache_dir=tmp_path, version="2", progress=False)
    assert len(CALLS) == 7 and other_version == first


def test_executor_gives_the_same_results_in_order(tmp_path):
    pts = grid(a=[3, 1, 2], b=[1.0, 2.0])
    serial = run_sweep(_square, pts, progress=False)
    with ThreadPoolExecutor(2) as ex:
        parallel = run_sweep(_square, pts, executor=ex, progress=False)
    assert serial == parallel


def test_non_finite_results_are_written_as_standard_json(tmp_path):
    import json

    from ptft.numerics.sweeps import to_jsonable

    out = to_jsonable({"a": np.array([1.0, np.nan]), "b": np.float64(np.inf), "c": np.int64(3)})
    assert out == {"a": [1.0, "nan"], "b": "inf", "c": 3}
    json.loads(json.dumps(out, allow_nan=False))  # raises if NaN/Infinity literals slipped through
