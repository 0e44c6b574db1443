"""scikit-learn conformance of every public estimator of skbrainmusic.

Estimators are discovered from ``skbrainmusic.__all__``, so the harness grows as estimators
land. Constructors that need arguments get instances from ``_estimator_instances.INSTANCES``;
each expected failure carries a written reason in ``EXPECTED_FAILED_CHECKS``.
"""

import inspect

from _estimator_instances import EXPECTED_FAILED_CHECKS, INSTANCES
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skbrainmusic


def _public_estimator_classes():
    classes = []
    for name in skbrainmusic.__all__:
        obj = getattr(skbrainmusic, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            classes.append(obj)
    return classes


def _needs_arguments(cls):
    params = inspect.signature(cls.__init__).parameters.values()
    return any(
        p.default is inspect.Parameter.empty and p.name != "self"
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in params
    )


def _instances():
    instances = []
    for cls in _public_estimator_classes():
        listed = INSTANCES.get(cls, [])
        if not listed and _needs_arguments(cls):
            raise RuntimeError(
                f"{cls.__name__} needs constructor arguments: add an example instance to "
                "tests/_estimator_instances.py INSTANCES."
            )
        instances.extend(listed or [cls()])
    return instances


def _expected_failed_checks(estimator):
    checks = EXPECTED_FAILED_CHECKS.get(type(estimator), {})
    return checks(estimator) if callable(checks) else checks


def test_every_public_estimator_is_checked():
    checked = {type(est) for est in _instances()}
    assert checked == set(_public_estimator_classes())


def test_expected_failures_have_reasons():
    for estimator in _instances():
        for check, reason in _expected_failed_checks(estimator).items():
            assert isinstance(reason, str) and len(reason) > 20, (estimator, check)


ESTIMATORS = _instances()

if ESTIMATORS:

    @parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
    def test_sklearn_compatible_estimator(estimator, check):
        check(estimator)
