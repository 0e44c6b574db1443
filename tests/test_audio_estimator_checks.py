"""The replacement checks of ``_audio_estimator_checks`` catch what they claim to catch.

A correct toy text embedder passes every check; each broken variant breaks one rule and
must fail the check that names the rule (as sklearn tests its own checks on broken
estimators).
"""

import numpy as np
import pytest
from _audio_estimator_checks import (
    AudioCase,
    applicable_checks,
    check_fit_idempotent,
    check_fit_sets_only_fitted_attributes,
    check_invalid_input_rejected,
    check_methods_leave_state_unchanged,
    check_no_parameter_mutation,
    check_not_fitted_error,
    check_pickle_round_trip,
    check_subset_invariance,
)
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

TEXTS = ["jazz piano", "rock drums and drums", "piano and drums", "jazz jazz trio"]


class WordCounts(TransformerMixin, BaseEstimator):
    """Counts of a few words per text, standardised with statistics learned in fit."""

    def __init__(self, vocabulary=("piano", "drums", "jazz")):
        self.vocabulary = vocabulary

    def _counts(self, X):
        if isinstance(X, str) or np.ndim(X) != 1 or len(X) == 0:
            raise ValueError("X must be a non-empty 1-D sequence of texts.")
        if not all(isinstance(text, str) for text in X):
            raise TypeError("every text must be a string.")
        return np.array([[text.split().count(word) for word in self.vocabulary]
                         for text in X], dtype=float)

    def fit(self, X, y=None):
        counts = self._counts(X)
        self.mean_, self.scale_ = counts.mean(axis=0), counts.std(axis=0) + 1.0
        return self

    def transform(self, X):
        check_is_fitted(self)
        return (self._counts(X) - self.mean_) / self.scale_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


class ReplacesItsParameter(WordCounts):
    def fit(self, X, y=None):
        self.vocabulary = list(self.vocabulary)
        return super().fit(X)


class UnfittedTransformWorks(WordCounts):
    def transform(self, X):
        return (self._counts(X) - getattr(self, "mean_", 0.0)) / getattr(self, "scale_", 1.0)


class BatchStatistics(WordCounts):
    def transform(self, X):
        check_is_fitted(self)
        counts = self._counts(X)
        return counts - counts.mean(axis=0)


class PublicAttributeInFit(WordCounts):
    def fit(self, X, y=None):
        self.counts = self._counts(X)
        return super().fit(X)


class RandomFit(WordCounts):
    def fit(self, X, y=None):
        super().fit(X)
        self.mean_ = self.mean_ + np.random.default_rng().standard_normal(self.mean_.shape)
        return self


class CountsCalls(WordCounts):
    def transform(self, X):
        self.n_transforms_ = getattr(self, "n_transforms_", 0) + 1
        return super().transform(X)


class AcceptsAnything(WordCounts):
    def _counts(self, X):
        return super()._counts([str(text) for text in np.ravel(X)] or [""])


class LosesStateWhenPickled(WordCounts):
    def __getstate__(self):
        state = dict(super().__getstate__())
        if "scale_" in state:
            state["scale_"] = 2 * state["scale_"]
        return state


def _case(estimator):
    return AudioCase(estimator, fit_args=(TEXTS,), inputs=TEXTS[:3],
                     invalid_inputs=[([], ValueError), (["fine", None], TypeError)])


def test_a_correct_estimator_passes_every_check():
    case = _case(WordCounts())
    for check in applicable_checks(case):
        check(case)


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (ReplacesItsParameter, check_no_parameter_mutation),
        (UnfittedTransformWorks, check_not_fitted_error),
        (BatchStatistics, check_subset_invariance),
        (PublicAttributeInFit, check_fit_sets_only_fitted_attributes),
        (RandomFit, check_fit_idempotent),
        (CountsCalls, check_methods_leave_state_unchanged),
        (AcceptsAnything, check_invalid_input_rejected),
        (LosesStateWhenPickled, check_pickle_round_trip),
    ],
)
def test_each_broken_estimator_fails_its_check(broken, check):
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        check(_case(broken()))
