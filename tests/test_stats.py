"""The book's verdict rule over the same seeds (nasvec.stats)."""

import math

import pandas as pd

from nasvec.stats import paired_difference


def test_paired_difference_calls_a_consistent_difference_by_its_sign():
    assert paired_difference([-1.0, -1.2, -0.9]).word == "lower" and paired_difference([1.0, 1.1]).word == "higher"


def test_paired_difference_calls_a_difference_within_two_standard_errors_a_tie():
    assert paired_difference([1.0, -1.0, 0.5]).word == "tie"


def test_paired_difference_with_one_seed_is_a_tie_with_unknown_error():
    p = paired_difference([0.3])
    assert (p.mean, math.isnan(p.se), p.word) == (0.3, True, "tie")


def test_paired_difference_drops_a_seed_whose_difference_is_missing():
    p = paired_difference(pd.Series([-1.0, float("nan"), -1.2, -0.9], index=[0, 1, 2, 3]))
    assert (p.seeds, p.word) == ((0, 2, 3), "lower")


def test_paired_difference_names_the_seeds_of_a_series_by_its_index():
    assert paired_difference(pd.Series([0.1, 0.2], index=[7, 9])).seeds == (7, 9)


def test_paired_difference_with_no_finite_pair_is_a_tie_of_unknown_size():
    p = paired_difference([float("nan"), float("inf")])
    assert (p.n, math.isnan(p.mean), p.word) == (0, True, "tie")
