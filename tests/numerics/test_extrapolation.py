"""numerics.extrapolation: Richardson/Neville removes polynomial terms exactly."""
import numpy as np
import pytest

from ptft.numerics.extrapolation import neville_table, richardson_to_zero


def test_cubic_in_h_is_extrapolated_exactly_with_four_points():
    h = 0.1 / 2.0 ** np.arange(4)
    f0 = np.array([1.0, -2.0])
    vals = [f0 + 3 * x - 5 * x ** 2 + 7 * x ** 3 for x in h]
    best, est = richardson_to_zero(h, vals)
    np.testing.assert_allclose(best, f0, atol=1e-13)
    # the estimate compares with the 3-point entry, exact only when the cubic term vanishes
    quad = [f0 + 3 * x - 5 * x ** 2 for x in h]
    assert richardson_to_zero(h, quad)[1] < 1e-12 < est


def test_error_estimate_tracks_the_omitted_term():
    h = 0.1 / 2.0 ** np.arange(2)
    vals = [np.array([1.0 + x + x * x]) for x in h]
    best, est = richardson_to_zero(h, vals)
    assert abs(best[0] - 1.0) == pytest.approx(0.1 * 0.05, rel=1e-12)  # remainder -a2 h0 h1
    assert est > 0


def test_bad_step_sizes_name_h():
    with pytest.raises(ValueError, match="^h:"):
        neville_table([0.1, 0.1], [np.zeros(1), np.zeros(1)])
    with pytest.raises(ValueError, match="^h:"):
        neville_table([0.1], [np.zeros(1), np.zeros(1)])
