"""Regression: the claims that verify must keep verifying (quick configuration, as CI can afford).

The two claims that FAIL are findings documented in docs/differences.md and are not asserted here
(`mtl.gd_reaches_group_lasso_minimum`, `ll.mtl_beats_ptft_on_identical_features`); their machinery is
exercised by the CLI tests.
"""
import pytest

from ptft.verification.registry import RunConfig, select_claims

EXPECTED_TO_PASS = ["diagonal.", "ptft.", "conservation.", "ll.rescaled_ptft_wins_on_sparse_subset",
                    "ll.rescaling_helps_on_sparse_subset"]


@pytest.mark.parametrize("claim", select_claims(EXPECTED_TO_PASS), ids=lambda c: c.id)
def test_claim_verifies_in_quick_configuration(claim):
    r = claim.run(RunConfig(quick=True, seed=0))
    assert r.verdict == "PASS", f"{r.id}: {r.verdict} {r.message} error={r.error} tol={r.tolerance}"


def test_claims_are_deterministic_for_a_seed():
    c = select_claims(["diagonal.gd_gap_is_first_order_in_lr"])[0]
    a, b = c.run(RunConfig(quick=True, seed=3)), c.run(RunConfig(quick=True, seed=3))
    assert a.simulation == b.simulation and a.details == b.details
