"""The ledger record's numbers: each to six significant digits, as `float(f"{v:.6g}")` gives it;
null where not finite."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasloss.callbacks._ledger_record import evenly, json_numbers


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(width=64), max_size=40))
def test_record_numbers_are_each_value_to_six_significant_digits(values):
    ours = json_numbers(np.array(values, np.float64).reshape(-1, 1))
    for value, [number] in zip(values, ours):
        if not math.isfinite(value):  # NaN: no value; NaN and ±inf: a diverged model's
            assert number is None
        else:  # a tie in the sixth digit may round either way: one unit of it at most
            assert number == pytest.approx(float(f"{value:.6g}"), rel=1.0001e-5, abs=1e-300)


@pytest.mark.parametrize("count, at_most, expected", [
    (1, 100, [0]), (5, 100, [0, 1, 2, 3, 4]), (250, 100, np.linspace(0, 249, 100).astype(int).tolist()),
    (7, 3, [0, 3, 6]),
])
def test_evenly_spaced_indices_keep_the_first_and_the_last(count, at_most, expected):
    assert evenly(count, at_most).tolist() == expected
