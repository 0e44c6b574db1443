"""Example instances and documented expected failures for the sklearn conformance harness.

``tests/test_common.py`` discovers every public estimator. Classes whose constructor needs
arguments list instances here; any check an estimator cannot pass is listed with a reason.
"""

# {EstimatorClass: [instance, ...]} for estimators without a default constructor, or to
# check extra configurations.
INSTANCES = {}

# {EstimatorClass: {check_name: "why it cannot pass"}}.
EXPECTED_FAILED_CHECKS = {}
