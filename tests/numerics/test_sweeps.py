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


def _fails_at_two(a):
    CALLS.append(a)
    if a == 2:
        raise ArithmeticError("boom at 2")
    return {"a": a}


def _maybe_none(a):
    CALLS.append(a)
    return None if a == 1 else {"a": a}


def test_a_failing_point_keeps_the_finished_ones_and_says_how_to_resume(tmp_path):
    from ptft.numerics.sweeps import SweepError

    CALLS.clear()
    pts = grid(a=[0, 1, 2, 3])
    with pytest.raises(SweepError, match=r"1 of 4 points failed .*point 2 .*ArithmeticError: boom at 2.*"
                                         r"2 of 4 points finished.*rerun") as info:
        run_sweep(_fails_at_two, pts, cache_dir=tmp_path, progress=False)
    assert isinstance(info.value.__cause__, ArithmeticError) and info.value.finished == 2
    assert CALLS == [0, 1, 2]  # serially the sweep stops at the failure
    CALLS.clear()
    with ThreadPoolExecutor(2) as ex, pytest.raises(SweepError) as info:
        run_sweep(_fails_at_two, pts, cache_dir=tmp_path, executor=ex, progress=False)
    assert sorted(CALLS) == [2, 3]  # 0, 1 came from the cache; 3 still ran and is kept
    assert info.value.finished == 3 and list(info.value.errors) == [2]
    with pytest.raises(SweepError, match="no cache_dir"):
        run_sweep(_fails_at_two, pts, progress=False)


def test_none_results_are_not_cached(tmp_path):
    CALLS.clear()
    run_sweep(_maybe_none, grid(a=[0, 1]), cache_dir=tmp_path, progress=False)
    run_sweep(_maybe_none, grid(a=[0, 1]), cache_dir=tmp_path, progress=False)
    assert CALLS == [0, 1, 1]


@pytest.mark.parametrize("damage", ['{"point": {"a": 1}, "resu', '{"point": {"a": 1}}', '[1, 2]', '\udcff'])
def test_a_damaged_cache_entry_warns_with_its_name_and_is_recomputed(tmp_path, damage):
    from ptft.numerics.sweeps import SweepCache

    CALLS.clear()
    pts = grid(a=[1, 2], b=[0.5])
    first = run_sweep(_square, pts, cache_dir=tmp_path, progress=False)
    (entry,) = [p for p in SweepCache(tmp_path).entries() if '"a": 1,' in p.read_text()]
    entry.write_text(damage, errors="surrogateescape")
    with pytest.warns(RuntimeWarning, match=entry.name):
        again = run_sweep(_square, pts, cache_dir=tmp_path, progress=False)
    assert again == first and CALLS == [(1, 0.5), (2, 0.5), (1, 0.5)]
    assert '"result"' in entry.read_text()  # rewritten
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_sweep(_square, pts, cache_dir=tmp_path, progress=False) == first


def test_sweep_cache_entries_and_clear(tmp_path):
    from ptft.numerics.sweeps import SweepCache

    run_sweep(_square, grid(a=[1, 2, 3], b=[0.5]), cache_dir=tmp_path, progress=False)
    (tmp_path / "keep.txt").write_text("not a cache entry")
    cache = SweepCache(tmp_path)
    assert len(cache.entries()) == 3 and cache.size_bytes() > 0
    assert cache.clear() == 3 and cache.entries() == [] and (tmp_path / "keep.txt").exists()
    assert SweepCache(tmp_path / "absent").entries() == []


@pytest.mark.parametrize("kwargs, name", [(dict(points={"a": 1}), "points"), (dict(points=[1, 2]), "points"),
                                          (dict(version=2), "version"), (dict(executor=4), "executor")])
def test_bad_sweep_arguments_name_the_parameter(kwargs, name):
    args = dict(points=grid(a=[1], b=[2]))
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        run_sweep(_square, progress=False, **args)


def test_point_keys_never_reach_the_executor_as_options():
    class Recording(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            assert not kwargs  # the point travels as one positional dict
            return super().submit(fn, *args)

    def _kw(workers, pure, key):
        return {"s": workers + pure + key}

    with Recording(1) as ex:
        assert run_sweep(_kw, [dict(workers=1, pure=2, key=3)], executor=ex, progress=False) == [{"s": 6}]
