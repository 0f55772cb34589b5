"""paper_figures.make_all hands its executor to the figures whose ``make`` takes one."""
from __future__ import annotations

import types
from concurrent.futures import ThreadPoolExecutor

from ptft import paper_figures


def test_make_all_passes_the_executor_only_where_accepted(tmp_path, monkeypatch):
    seen = {}

    def with_executor(out_dir, quick=False, *, executor=None):
        seen["sweep"] = executor
        return [out_dir / "sweep.png"]

    def without(out_dir, quick=False):
        seen["plain"] = quick
        return [out_dir / "plain.png"]

    monkeypatch.setattr(paper_figures, "FIGURES", {"fake_sweep": types.SimpleNamespace(make=with_executor),
                                                   "fake_plain": types.SimpleNamespace(make=without)})
    with ThreadPoolExecutor(1) as ex:
        written = paper_figures.make_all(tmp_path, quick=True, only=["fake_sweep", "fake_plain"], executor=ex)
    assert seen == {"sweep": ex, "plain": True}
    assert [p.name for p in written] == ["sweep.png", "plain.png"]
    paper_figures.make_all(tmp_path, only=["fake_sweep"])
    assert seen["sweep"] is None
