"""Replacement checks for the estimators whose input is audio or text.

scikit-learn's ``parametrize_with_checks`` feeds numeric matrices; it skips estimators whose
tags say they take no 2-D array (``AudioEmbedder``, ``CaptionEmbedder``, ``AudioTagger``)
and some checks fail on estimators that learn from waveforms (``ConditionedGenerator``).
As nilearn does for images (``nilearn/_utils/estimator_checks.py``), every such sklearn
check is named in :data:`SKLEARN_CHECK_REPLACEMENTS` with the check of this module that
replaces it, or with the reason it cannot apply; ``tests/test_common.py`` verifies that
nothing sklearn would have checked is left without one.

A check takes an :class:`AudioCase`: an unfitted estimator with the data to fit it on and
the method, input and keyword arguments of its output. The checks are generic, so a new
estimator (or a new constructor) only needs a new case.
"""

import inspect
import pickle
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    estimator_checks_generator,
)
from sklearn.utils.validation import check_is_fitted


@dataclass
class AudioCase:
    """An estimator with the data of its replacement checks.

    Parameters
    ----------
    estimator : estimator
        Unfitted.
    fit_args, fit_kwargs : tuple, dict
        ``estimator.fit(*fit_args, **fit_kwargs)``.
    inputs : ndarray or list
        Input of the output method, at least 3 items (first axis).
    method : str
        Output method, e.g. ``"transform"``, ``"predict_proba"``, ``"predict"``.
    method_kwargs : dict
        Its keyword arguments besides the input (e.g. ``sample_rate``).
    invalid_inputs : list of (input, exception class)
        Inputs the output method must refuse with that exception.
    n_features : int or None
        Expected ``n_features_in_``; ``None`` when the input has no feature axis
        (waveforms, texts), so the attribute must not exist.
    batch_independent : bool
        Whether each item's output depends on that item alone (not on its batch).
    replacements : dict
        Overrides of :data:`SKLEARN_CHECK_REPLACEMENTS` for this estimator.
    expected_failed : tuple of str
        For estimators sklearn does check: its checks expected to fail, each of which
        must have a replacement here.
    atol : float
        Absolute tolerance of output comparisons between batchings and input forms.
    """

    estimator: object
    fit_args: tuple = ()
    fit_kwargs: dict = field(default_factory=dict)
    inputs: object = None
    method: str = "transform"
    method_kwargs: dict = field(default_factory=dict)
    invalid_inputs: list = field(default_factory=list)
    n_features: int | None = None
    batch_independent: bool = True
    replacements: dict = field(default_factory=dict)
    expected_failed: tuple = ()
    atol: float = 1e-5

    def fit(self, estimator):
        return estimator.fit(*self.fit_args, **self.fit_kwargs)

    def apply(self, fitted, inputs=None):
        inputs = self.inputs if inputs is None else inputs
        return np.asarray(getattr(fitted, self.method)(inputs, **self.method_kwargs))

    def fitted(self):
        return self.fit(clone(self.estimator))

    def id(self):
        return repr(self.estimator).replace("\n", "").replace(" ", "")


def _take(inputs, indices):
    if isinstance(inputs, np.ndarray):
        return inputs[indices]
    return [inputs[i] for i in indices]


def _assert_close(actual, desired, case, what):
    np.testing.assert_allclose(actual, desired, rtol=1e-5, atol=case.atol, err_msg=what)


def _fitted_attributes(estimator):
    return sorted(name for name in vars(estimator)
                  if name.endswith("_") and not name.startswith("_"))


# --- the checks ----------------------------------------------------------------------------

def check_sklearn_api(case):
    """sklearn's own checks that need no data, run as they are."""
    name = type(case.estimator).__name__
    for check in (check_no_attributes_set_in_init, check_get_params_invariance,
                  check_set_params, check_do_not_raise_errors_in_init_or_set_params,
                  check_parameters_default_constructible, check_estimator_repr,
                  check_estimator_cloneable, check_estimator_tags_renamed,
                  check_valid_tag_types, check_mixin_order):
        check(name, clone(case.estimator))


def check_fit_signature(case):
    """``fit(X, y, ...)``: Pipeline and cross-validation pass data positionally."""
    parameters = list(inspect.signature(type(case.estimator).fit).parameters)
    assert parameters[1:3] == ["X", "y"], parameters


def check_clone_equality(case):
    """A clone has equal parameters (estimators cloned, not shared) and no fitted state;
    fitting it gives the same outputs."""
    estimator = case.estimator
    cloned = clone(estimator)
    assert type(cloned) is type(estimator)
    params, cloned_params = estimator.get_params(deep=False), cloned.get_params(deep=False)
    assert params.keys() == cloned_params.keys()
    for name, value in params.items():
        if hasattr(value, "get_params"):
            assert cloned_params[name] is not value, name
            assert joblib.hash(cloned_params[name].get_params()) == joblib.hash(
                value.get_params()), name
        else:
            assert joblib.hash(cloned_params[name]) == joblib.hash(value), name
    fitted = case.fitted()
    assert _fitted_attributes(fitted)
    refit = clone(fitted)
    assert not _fitted_attributes(refit)
    _assert_close(case.apply(case.fit(refit)), case.apply(fitted), case, "clone refit")


def check_pickle_round_trip(case):
    """Unfitted and fitted estimators survive pickling with identical outputs."""
    unfitted = pickle.loads(pickle.dumps(case.estimator))
    assert joblib.hash(unfitted.get_params()) == joblib.hash(case.estimator.get_params())
    fitted = case.fitted()
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(case.apply(restored), case.apply(fitted))


def check_fit_returns_self(case):
    estimator = clone(case.estimator)
    assert case.fit(estimator) is estimator


def check_fit_idempotent(case):
    """Fitting twice on the same data gives the same outputs."""
    estimator = clone(case.estimator)
    first = case.apply(case.fit(estimator))
    np.testing.assert_allclose(case.apply(case.fit(estimator)), first, rtol=1e-7, atol=1e-9)


def check_no_parameter_mutation(case):
    """fit and the output method neither replace nor modify a constructor parameter."""
    estimator = clone(case.estimator)
    before = estimator.get_params(deep=False)
    hashes = {name: joblib.hash(value) for name, value in before.items()}
    case.apply(case.fit(estimator))
    after = estimator.get_params(deep=False)
    for name, value in before.items():
        assert after[name] is value, f"fit replaced the parameter {name}"
        assert joblib.hash(after[name]) == hashes[name], f"fit modified the parameter {name}"


def check_fit_sets_only_fitted_attributes(case):
    """Public attributes added by fit end with ``_``."""
    estimator = clone(case.estimator)
    before = set(vars(estimator))
    case.fit(estimator)
    added = set(vars(estimator)) - before
    public = [name for name in added if not name.startswith("_")]
    assert public and all(name.endswith("_") for name in public), sorted(added)


def check_methods_leave_state_unchanged(case):
    """The output method changes nothing in the fitted estimator."""
    fitted = case.fitted()
    state = joblib.hash(vars(fitted))
    case.apply(fitted)
    assert joblib.hash(vars(fitted)) == state


def check_not_fitted_error(case):
    """NotFittedError before fit where fitting is required; else the same outputs."""
    unfitted = clone(case.estimator)
    if get_tags(unfitted).requires_fit:
        with pytest.raises(NotFittedError):
            case.apply(unfitted)
        with pytest.raises(NotFittedError):
            check_is_fitted(unfitted)
        check_is_fitted(case.fitted())
    else:
        _assert_close(case.apply(unfitted), case.apply(case.fitted()), case, "unfitted")


def check_n_features_in(case):
    """``n_features_in_`` counts the feature axis of array input, and only there."""
    fitted = case.fitted()
    if case.n_features is None:
        assert not hasattr(fitted, "n_features_in_")
        return
    assert fitted.n_features_in_ == case.n_features
    inputs = np.asarray(case.inputs)
    wider = np.concatenate([inputs, inputs[..., :1]], axis=-1)
    with pytest.raises(ValueError, match="features"):
        case.apply(fitted, wider)


def check_requires_y(case):
    """An estimator that learns from labels says so when they are missing."""
    X, _ = case.fit_args
    with pytest.raises(ValueError):
        clone(case.estimator).fit(X, None, **case.fit_kwargs)


def check_fit_transform_consistency(case):
    """``fit_transform(X)`` equals ``fit(X).transform(X)``."""
    X = case.fit_args[0]
    direct = clone(case.estimator).fit_transform(*case.fit_args, **case.fit_kwargs)
    _assert_close(direct, case.fitted().transform(X), case, "fit_transform")


def check_in_pipeline(case):
    """The estimator as the last step of a Pipeline gives its own outputs."""
    pipeline = make_pipeline(clone(case.estimator))
    step = pipeline.steps[-1][0]
    fit_args = case.fit_args or (None,)
    pipeline.fit(*fit_args, **{f"{step}__{key}": value
                               for key, value in case.fit_kwargs.items()})
    _assert_close(case.apply(pipeline), case.apply(case.fitted()), case, "pipeline")


def check_input_forms(case):
    """dtypes, memory order and plain sequences give the same outputs, of one dtype."""
    fitted = case.fitted()
    reference = case.apply(fitted)
    inputs = case.inputs
    if isinstance(inputs, np.ndarray):
        forms = {"float32": inputs.astype(np.float32), "float64": inputs.astype(np.float64),
                 "object": inputs.astype(object), "Fortran": np.asfortranarray(inputs),
                 "list": list(inputs)}
    else:
        forms = {"object array": np.asarray(inputs, dtype=object),
                 "str array": np.asarray(inputs, dtype=str), "tuple": tuple(inputs)}
    for name, form in forms.items():
        output = case.apply(fitted, form)
        assert output.dtype == reference.dtype, name
        _assert_close(output, reference, case, name)


def check_readonly_input(case):
    """Read-only arrays (e.g. memory-mapped datasets) are accepted and never written."""
    def readonly(value):
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.setflags(write=False)
        return value

    estimator = clone(case.estimator)
    estimator.fit(*map(readonly, case.fit_args), **case.fit_kwargs)
    output = case.apply(estimator, readonly(case.inputs))
    _assert_close(output, case.apply(case.fitted()), case, "read-only input")


def check_invalid_input_rejected(case):
    """NaN, infinite, complex, empty and misshapen inputs raise errors, not garbage."""
    assert case.invalid_inputs
    fitted = case.fitted()
    for bad, error in case.invalid_inputs:
        with pytest.raises(error):
            case.apply(fitted, bad)


def check_sample_order_invariance(case):
    fitted = case.fitted()
    reference = case.apply(fitted)
    order = np.arange(len(case.inputs))[::-1]
    _assert_close(case.apply(fitted, _take(case.inputs, order)), reference[order], case,
                  "reversed order")


def check_subset_invariance(case):
    """Every item alone (a batch of one) gives its output within the whole batch."""
    fitted = case.fitted()
    reference = case.apply(fitted)
    for index in range(len(case.inputs)):
        _assert_close(case.apply(fitted, _take(case.inputs, [index]))[0], reference[index],
                      case, f"item {index} alone")


def _always(case):
    return True


# {check: predicate of the cases it applies to}
CHECKS = {
    check_sklearn_api: _always,
    check_fit_signature: _always,
    check_clone_equality: _always,
    check_pickle_round_trip: _always,
    check_fit_returns_self: _always,
    check_fit_idempotent: _always,
    check_no_parameter_mutation: _always,
    check_fit_sets_only_fitted_attributes: _always,
    check_methods_leave_state_unchanged: _always,
    check_not_fitted_error: _always,
    check_n_features_in: _always,
    check_requires_y: lambda case: get_tags(case.estimator).target_tags.required,
    check_fit_transform_consistency: lambda case: hasattr(case.estimator, "fit_transform"),
    check_in_pipeline: _always,
    check_input_forms: _always,
    check_readonly_input: _always,
    check_invalid_input_rejected: _always,
    check_sample_order_invariance: lambda case: case.batch_independent,
    check_subset_invariance: lambda case: case.batch_independent,
}


def applicable_checks(case):
    return [check for check, applies in CHECKS.items() if applies(case)]


_NO_SPARSE = "not applicable: waveforms, texts and embeddings have no sparse form"

# {sklearn check: the check of this module replacing it, or "not applicable: <why>"}
SKLEARN_CHECK_REPLACEMENTS = {
    "check_array_api_input": ("not applicable: the input is converted to numpy (waveforms, "
                              "texts); no array API support is declared"),
    "check_complex_data": "check_invalid_input_rejected",
    "check_dict_unchanged": "check_methods_leave_state_unchanged",
    "check_do_not_raise_errors_in_init_or_set_params": "check_sklearn_api",
    "check_dont_overwrite_parameters": "check_fit_sets_only_fitted_attributes",
    "check_dtype_object": "check_input_forms",
    "check_estimator_cloneable": "check_sklearn_api",
    "check_estimator_repr": "check_sklearn_api",
    "check_estimator_sparse_array": _NO_SPARSE,
    "check_estimator_sparse_matrix": _NO_SPARSE,
    "check_estimator_sparse_tag": _NO_SPARSE,
    "check_estimator_tags_renamed": "check_sklearn_api",
    "check_estimators_dtypes": "check_input_forms",
    "check_estimators_empty_data_messages": "check_invalid_input_rejected",
    "check_estimators_fit_returns_self": "check_fit_returns_self",
    "check_estimators_nan_inf": "check_invalid_input_rejected",
    "check_estimators_overwrite_params": "check_no_parameter_mutation",
    "check_estimators_pickle": "check_pickle_round_trip",
    "check_estimators_unfitted": "check_not_fitted_error",
    "check_f_contiguous_array_estimator": "check_input_forms",
    "check_fit1d": "check_invalid_input_rejected",
    "check_fit2d_1feature": "check_invalid_input_rejected",
    "check_fit2d_1sample": "check_subset_invariance",
    "check_fit2d_predict1d": "check_invalid_input_rejected",
    "check_fit_check_is_fitted": "check_not_fitted_error",
    "check_fit_idempotent": "check_fit_idempotent",
    "check_fit_score_takes_y": "check_fit_signature",
    "check_get_params_invariance": "check_sklearn_api",
    "check_methods_sample_order_invariance": "check_sample_order_invariance",
    "check_methods_subset_invariance": "check_subset_invariance",
    "check_mixin_order": "check_sklearn_api",
    "check_n_features_in": "check_n_features_in",
    "check_n_features_in_after_fitting": "check_n_features_in",
    "check_no_attributes_set_in_init": "check_sklearn_api",
    "check_parameters_default_constructible": "check_sklearn_api",
    "check_pipeline_consistency": "check_in_pipeline",
    "check_positive_only_tag_during_fit": ("not applicable: no estimator here sets the "
                                           "positive_only tag, so there is nothing to refuse"),
    "check_readonly_memmap_input": "check_readonly_input",
    "check_requires_y_none": "check_requires_y",
    "check_set_params": "check_sklearn_api",
    "check_transformer_data_not_an_array": "check_input_forms",
    "check_transformer_general": "check_fit_transform_consistency",
    "check_transformer_n_iter": ("not applicable: no max_iter parameter, so no n_iter_ "
                                 "attribute to check"),
    "check_transformer_preserve_dtypes": "check_input_forms",
    "check_transformers_unfitted": "check_not_fitted_error",
    "check_transformers_unfitted_stateless": "check_not_fitted_error",
    "check_valid_tag_types": "check_sklearn_api",
}


def replacement(case, sklearn_check):
    """The replacement (check name or "not applicable: ...") of one sklearn check."""
    return case.replacements.get(sklearn_check,
                                 SKLEARN_CHECK_REPLACEMENTS.get(sklearn_check))


def _with_matrix_input(estimator):
    """The estimator, its tags claiming 2-D array input, as sklearn's checks need."""
    cls = type(estimator)

    def __sklearn_tags__(self):
        tags = cls.__sklearn_tags__(self)
        tags.input_tags.two_d_array = True
        tags.input_tags.string = False
        return tags

    as_matrix = type(cls.__name__, (cls,), {"__sklearn_tags__": __sklearn_tags__})
    return as_matrix(**estimator.get_params(deep=False))


def sklearn_checks_not_run(case):
    """Names of the sklearn checks this estimator does not pass as sklearn runs them.

    All checks sklearn would run on it with matrix input when its tags refuse 2-D arrays
    (sklearn then runs none); the expected failures otherwise.
    """
    if get_tags(case.estimator).input_tags.two_d_array:
        return set(case.expected_failed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated = estimator_checks_generator(_with_matrix_input(case.estimator),
                                               legacy=True, mark=None)
        return {getattr(check, "func", check).__name__ for _, check in generated}
