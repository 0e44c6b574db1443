"""The shared ridge solver core: exactness against himalaya, closed forms and brute force."""

import numpy as np
import pytest
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from himalaya.scoring import correlation_score as himalaya_correlation
from himalaya.scoring import r2_score as himalaya_r2
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from skbrainmusic.ridge import clip_splits, ridge_cv, ridge_fit

ALPHAS = np.logspace(-1, 4, 12)


@pytest.fixture(params=["eigh", "tridiagonal"])
def route(request, monkeypatch):
    """Run a test through both factorisations of the numpy backend (the size threshold
    between them is moved so that the small test problems take either)."""
    from skbrainmusic.ridge import _solvers

    tridiagonal = request.param == "tridiagonal"
    monkeypatch.setattr(_solvers, "_MIN_TRIDIAGONAL_SIZE", 0 if tridiagonal else 10**9)
    monkeypatch.setattr(_solvers, "_TRIDIAGONAL_SOLVES_PER_RANK2", np.inf)
    return request.param


@pytest.fixture(params=["numpy-eigh", "numpy-tridiagonal", "torch", "torch-cholesky"])
def backend(request, monkeypatch):
    """Backend name, the numpy backend through both of its factorisations and torch through
    both of its own (eigh; the batched Cholesky of CUDA, here forced on the CPU)."""
    from skbrainmusic.ridge import _solvers

    name, _, factorisation = request.param.partition("-")
    if name == "numpy":
        monkeypatch.setattr(_solvers, "_MIN_TRIDIAGONAL_SIZE",
                            0 if factorisation == "tridiagonal" else 10**9)
        monkeypatch.setattr(_solvers, "_TRIDIAGONAL_SOLVES_PER_RANK2", np.inf)
    if factorisation == "cholesky":
        pytest.importorskip("torch")
        monkeypatch.setattr(_solvers, "get_backend", _forced_cholesky(_solvers.get_backend))
    return name


def _forced_cholesky(get_backend):
    def forced(name):
        be = get_backend(name)
        be.batched_cholesky = True
        return be
    return forced


def _problem(n_samples, n_features, n_targets=5, seed=0, offset=5.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) + offset
    weights = rng.standard_normal((n_features, n_targets)) * 0.3
    Y = (X - offset) @ weights + rng.standard_normal((n_samples, n_targets)) + 3.0
    return X, Y


def _pearson(a, b):
    a = a - a.mean(0)
    b = b - b.mean(0)
    denominator = np.sqrt((a**2).sum(0) * (b**2).sum(0))
    return np.where(denominator > 0, (a * b).sum(0) / np.where(denominator > 0, denominator, 1),
                    0.0)


@pytest.mark.parametrize("n_features", [10, 300], ids=["primal", "dual"])
@pytest.mark.parametrize("score", ["correlation", "r2"])
def test_matches_himalaya_ridgecv_float64(n_features, score, route):
    X, Y = _problem(120, n_features)
    splits = clip_splits(5, n_clips=30, n_windows=4)
    result = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", score=score)
    score_func = himalaya_correlation if score == "correlation" else himalaya_r2
    reference = HimalayaRidgeCV(alphas=ALPHAS, cv=splits, fit_intercept=True,
                                solver_params=dict(score_func=score_func, warn=False)).fit(X, Y)
    # himalaya returns exp(-log(alpha)): compare grid indices
    reference_indices = np.abs(np.log(reference.best_alphas_)[None] -
                               np.log(ALPHAS)[:, None]).argmin(0)
    np.testing.assert_array_equal(result.best_alpha_indices, reference_indices)
    np.testing.assert_array_equal(result.best_alphas, ALPHAS[reference_indices])
    expected = reference.predict(X)
    predicted = X @ result.coef + result.intercept
    assert np.abs(predicted - expected).max() <= 1e-10 * np.abs(expected).max()
    np.testing.assert_allclose(result.best_scores, reference.cv_scores_, atol=1e-8)


@pytest.mark.parametrize("n_features", [6, 40, 200], ids=["gram", "direct", "dual"])
@pytest.mark.parametrize("score", ["correlation", "r2"])
def test_cv_scores_equal_brute_force(n_features, score, backend):
    # 6 and 40 features put the rank below / above the 20 validation rows (two norm routes).
    X, Y = _problem(100, n_features, seed=1)
    splits = clip_splits(5, n_clips=50, n_windows=2)
    alphas = np.array([0.5, 10.0, 300.0])
    result = ridge_cv(X, Y, alphas, splits, dtype="float64", score=score, backend=backend,
                      return_cv_scores=True)
    expected = _brute_force_scores(X, Y, alphas, splits, score)
    np.testing.assert_allclose(result.cv_scores, expected, rtol=1e-9, atol=1e-11)
    best = expected.argmax(0)
    np.testing.assert_array_equal(result.best_alpha_indices, best)


def _brute_force_scores(X, Y, alphas, splits, score, fit_intercept=True):
    """Mean validation scores (n_alphas, n_targets) of sklearn's Ridge fold by fold."""
    expected = np.zeros((alphas.size, Y.shape[1]))
    for k, alpha in enumerate(alphas):
        for train, val in splits:
            prediction = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(
                X[train], Y[train]).predict(X[val])
            if score == "correlation":
                expected[k] += _pearson(prediction, Y[val])
            else:
                expected[k] += r2_score(Y[val], prediction, multioutput="raw_values")
    return expected / len(splits)


@pytest.mark.parametrize("n_features", [6, 40], ids=["gram", "direct"])
@pytest.mark.parametrize("score", ["correlation", "r2"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_folds_leaving_rows_out_and_no_intercept_equal_brute_force(n_features, score,
                                                                   fit_intercept, backend):
    # The primal takes a fold's training products from X^T Y minus the validation rows only
    # when the fold partitions the rows: the last fold leaves 10 rows out of both sets.
    X, Y = _problem(100, n_features, seed=3)
    splits = clip_splits(5, n_clips=50, n_windows=2)
    train, val = splits[-1]
    splits[-1] = (train[10:], val)
    alphas = np.array([0.5, 10.0, 300.0])
    result = ridge_cv(X, Y, alphas, splits, dtype="float64", score=score, backend=backend,
                      fit_intercept=fit_intercept, return_cv_scores=True)
    expected = _brute_force_scores(X, Y, alphas, splits, score, fit_intercept)
    np.testing.assert_allclose(result.cv_scores, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("score", ["correlation", "r2"])
def test_direct_route_with_a_factor_of_the_validation_rows_equals_brute_force(score, route,
                                                                              monkeypatch):
    # A rank above the 20 validation rows, whose Gram matrix is factored all the same (as
    # from 256 validation rows, with more solves than the rank): a pivoted factor of their
    # rank, exact scores.
    from skbrainmusic.ridge import _solvers
    from skbrainmusic.ridge._backend import NumpyBackend

    monkeypatch.setattr(_solvers, "_MIN_FACTORED_ROWS", 0)
    factors = []
    factor = NumpyBackend.cholesky_factor
    monkeypatch.setattr(NumpyBackend, "cholesky_factor",
                        lambda self, matrix: factors.append(factor(self, matrix)) or factors[-1])
    X, Y = _problem(100, 40, n_targets=9, seed=1)
    splits = clip_splits(5, n_clips=50, n_windows=2)
    alphas = np.array([0.5, 3.0, 10.0, 50.0, 300.0])  # 45 solves > rank 40: worth it
    result = ridge_cv(X, Y, alphas, splits, dtype="float64", score=score,
                      return_cv_scores=True)
    assert [f.lower.shape for f in factors] == [(40, 19)] * len(splits)
    factors.clear()
    ridge_cv(X, Y[:, :2], alphas, splits, dtype="float64", score=score)  # 10 solves: not
    assert factors == []
    np.testing.assert_allclose(result.cv_scores,
                               _brute_force_scores(X, Y, alphas, splits, score),
                               rtol=1e-9, atol=1e-11)


def test_singular_validation_gram_gets_a_pivoted_factor_of_its_rank(monkeypatch):
    # Duplicated columns make the validation rows' Gram matrix singular: its factor is the
    # pivoted one of rank 4 (of 8), and the scores are still exact.
    from skbrainmusic.ridge._backend import NumpyBackend

    factors = []
    factor = NumpyBackend.cholesky_factor
    monkeypatch.setattr(NumpyBackend, "cholesky_factor",
                        lambda self, matrix: factors.append(factor(self, matrix)) or factors[-1])
    X, Y = _problem(100, 4, seed=4)
    X = np.hstack([X, X])
    splits = clip_splits(5, n_clips=50, n_windows=2)
    alphas = np.array([0.5, 10.0, 300.0])
    result = ridge_cv(X, Y, alphas, splits, dtype="float64", return_cv_scores=True)
    assert len(factors) == len(splits)
    assert all(f.order is not None and f.lower.shape == (8, 4) for f in factors)
    np.testing.assert_allclose(result.cv_scores,
                               _brute_force_scores(X, Y, alphas, splits, "correlation"),
                               rtol=1e-9, atol=1e-11)


def test_repeated_validation_rows_give_exact_scores(route, monkeypatch):
    # An encoding model's features repeated over the windows of a clip: the validation Gram
    # has the rank of the distinct rows (3 clips a fold < 6 features). Its pivoted factor
    # takes the spread's rows in its order (eigendecomposition) or reorders the tridiagonal
    # route's solutions.
    from skbrainmusic.ridge._backend import NumpyBackend

    ranks = []
    factor = NumpyBackend.cholesky_factor
    monkeypatch.setattr(NumpyBackend, "cholesky_factor", lambda self, matrix: ranks.append(
        factor(self, matrix).lower.shape[1]) or factor(self, matrix))
    rng = np.random.default_rng(7)
    X = np.repeat(rng.standard_normal((15, 6)), 4, axis=0)
    Y = X @ rng.standard_normal((6, 5)) + rng.standard_normal((60, 5))
    splits = clip_splits(5, n_clips=15, n_windows=4)
    alphas = np.logspace(-2, 3, 6)
    for dtype, rtol in (("float64", 1e-9), ("float32", 2e-4)):
        ranks.clear()
        result = ridge_cv(X, Y, alphas, splits, dtype=dtype, return_cv_scores=True)
        assert ranks == [2] * len(splits)  # 3 distinct centred rows: rank 2
        np.testing.assert_allclose(result.cv_scores,
                                   _brute_force_scores(X, Y, alphas, splits, "correlation"),
                                   rtol=rtol, atol=10 * rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cholesky_factor_and_factored_norms(dtype):
    from skbrainmusic.ridge._backend import NumpyBackend

    be = NumpyBackend()
    rng = np.random.default_rng(5)
    for n_rows in (30, 3):  # positive definite, then of rank 3 (pivoted)
        A = rng.standard_normal((n_rows, 8)).astype(dtype)
        gram = A.T @ A
        Z = rng.standard_normal((8, 12)).astype(dtype)
        expected = np.einsum("ij,ij->j", Z, gram @ Z)
        lower, order = factor = be.cholesky_factor(gram.copy())
        assert lower.shape == (8, min(n_rows, 8)) and (order is None) == (n_rows > 8)
        rows = np.arange(8) if order is None else order
        rebuilt = np.empty_like(gram)
        rebuilt[np.ix_(rows, rows)] = lower @ lower.T
        np.testing.assert_allclose(rebuilt, gram, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(be.factored_norms(factor, Z[rows]), expected, rtol=1e-3)
    assert be.cholesky_factor(np.zeros((3, 3), dtype=dtype)) is None
    lower, order = be.cholesky_factor(np.ones((3, 3), dtype=dtype))
    assert lower.shape == (3, 1)


@pytest.mark.parametrize("n_rows", [30, 3], ids=["definite", "pivoted"])
def test_scaled_factored_norms_equal_the_norms_of_the_stacked_products(n_rows, monkeypatch):
    # The eigendecomposition route scales B one alpha and one chunk of columns at a time
    # (chunks of 3 columns here, so the 10 columns take 4) instead of building every Z_a:
    # the same numbers as the norms of the stacked Z (rows in the matrix's order).
    from skbrainmusic.ridge import _backend
    from skbrainmusic.ridge._solvers import _spread_over_alphas

    be = _backend.NumpyBackend()
    rng = np.random.default_rng(6)
    A = rng.standard_normal((n_rows, 8)).astype(np.float32)
    factor = be.cholesky_factor(A.T @ A)
    weights = rng.uniform(0.1, 2.0, (4, 8)).astype(np.float32)
    B = rng.standard_normal((8, 10)).astype(np.float32)
    monkeypatch.setattr(_backend, "_NORMS_CHUNK_BYTES", 3 * 8 * 4)
    scaled = be.scaled_factored_norms(factor, weights, B)
    rows = np.arange(8) if factor.order is None else factor.order
    stacked = be.factored_norms(factor, _spread_over_alphas(weights[:, rows], B[rows]))
    np.testing.assert_allclose(scaled, stacked.reshape(4, 10), rtol=1e-6)
    gram = (A.T @ A).astype(np.float64)
    Z = weights[:, :, None].astype(np.float64) * B[None]
    np.testing.assert_allclose(scaled, np.einsum("aij,ik,akj->aj", Z, gram, Z), rtol=1e-3)


def test_closed_form_small_case():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 4))
    Y = rng.standard_normal((7, 3))
    alpha = 2.5
    expected = np.linalg.solve(X.T @ X + alpha * np.eye(4), X.T @ Y)
    coef, intercept = ridge_fit(X, Y, alpha, fit_intercept=False, dtype="float64")
    np.testing.assert_allclose(coef, expected, rtol=1e-12)
    np.testing.assert_array_equal(intercept, 0.0)
    # dual route (more features than samples) gives the same closed form
    X_wide = rng.standard_normal((5, 9))
    expected = np.linalg.solve(X_wide.T @ X_wide + alpha * np.eye(9), X_wide.T @ Y[:5])
    coef, _ = ridge_fit(X_wide, Y[:5], alpha, fit_intercept=False, dtype="float64")
    np.testing.assert_allclose(coef, expected, rtol=1e-10)


@pytest.mark.parametrize("n_features", [5, 30])
def test_fit_with_intercept_matches_sklearn_per_target_alphas(n_features):
    X, Y = _problem(20, n_features, n_targets=12, seed=3)
    many = np.logspace(-1, 2, 12)  # > 8 distinct alphas: eigendecomposition route
    few = np.repeat([0.3, 40.0], 6)  # Cholesky route
    for alphas in (many, few):
        coef, intercept = ridge_fit(X, Y, alphas, dtype="float64")
        for target, alpha in enumerate(alphas):
            reference = Ridge(alpha=alpha).fit(X, Y[:, target])
            np.testing.assert_allclose(coef[:, target], reference.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(intercept[target], reference.intercept_, rtol=1e-9)


def test_target_batches_backends_and_float32_agree(backend):
    X, Y = _problem(160, 30, n_targets=9, seed=4)
    splits = clip_splits(5, n_clips=40, n_windows=4)
    reference = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", return_cv_scores=True)
    batched = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", backend=backend,
                       n_targets_batch=2, return_cv_scores=True)
    np.testing.assert_allclose(batched.cv_scores, reference.cv_scores, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(batched.coef, reference.coef, rtol=1e-9, atol=1e-12)
    single = ridge_cv(X, Y, ALPHAS, splits, backend=backend)
    np.testing.assert_array_equal(single.best_alphas, reference.best_alphas)
    assert single.coef.dtype == np.float32
    np.testing.assert_allclose(single.coef, reference.coef, rtol=1e-3, atol=1e-4)


def _counted(monkeypatch, owner, name):
    """Patch ``owner.name`` to count its calls (the returned list gets a 1 per call)."""
    calls = []
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.mark.parametrize("alphas", [np.logspace(-1, 3, 12), [0.5, 40.0]],
                         ids=["eigh", "cholesky"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_refit_from_the_cv_products_equals_ridge_fit(alphas, fit_intercept, backend,
                                                     monkeypatch):
    # A primal fit whose folds partition the rows refits from the Gram matrix and X^T Y it
    # computed for the folds (in two target batches here); ridge_fit starts from the data.
    from skbrainmusic.ridge import _solvers

    X, Y = _problem(80, 12, n_targets=7, seed=8)
    splits = clip_splits(4, n_clips=40, n_windows=2)
    with monkeypatch.context() as patch:
        calls = _counted(patch, _solvers, "ridge_fit")
        result = ridge_cv(X, Y, alphas, splits, dtype="float64", backend=backend,
                          fit_intercept=fit_intercept, n_targets_batch=4)
    assert calls == []  # solved from the cross-validation's own products
    coef, intercept = ridge_fit(X, Y, result.best_alphas, dtype="float64",
                                fit_intercept=fit_intercept)
    np.testing.assert_allclose(result.coef, coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.intercept, intercept, rtol=1e-10, atol=1e-12)
    assert len(np.unique(result.best_alphas)) > 1  # per-target alphas, not one shared
    for target, alpha in enumerate(result.best_alphas):
        reference = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, Y[:, target])
        np.testing.assert_allclose(result.coef[:, target], reference.coef_, rtol=1e-8,
                                   atol=1e-10)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_kfold_takes_x_t_y_from_the_validation_blocks(standardize, fit_intercept, backend,
                                                      monkeypatch):
    # With K-fold splits, X^T Y is the sum of the validation blocks' centred products (which
    # the folds need) plus their mean terms: the folds get those products instead of
    # computing them, while the blocks' Gram matrices and products fit the work budget
    # together. Over it, every fold computes its own: same numbers.
    from skbrainmusic.ridge import _solvers

    X, Y = _problem(80, 12, n_targets=7, seed=11)
    splits = clip_splits(4, n_clips=40, n_windows=2)
    calls = _counted(monkeypatch, _solvers._FoldDecomposition, "val_products")

    def fit():
        return ridge_cv(X, Y, ALPHAS, splits, dtype="float64", backend=backend,
                        standardize=standardize, fit_intercept=fit_intercept,
                        n_targets_batch=4, return_cv_scores=True)

    blocks = fit()
    assert calls == []
    # 4 folds of float64: the Gram matrices (4,608 bytes) fit, with the products (7,296) not
    for budget in (5000, 64):
        monkeypatch.setattr(_solvers, "_BATCH_BYTES", budget)
        calls.clear()
        per_fold = fit()
        assert len(calls) == len(splits) * 2  # two target batches
        np.testing.assert_allclose(blocks.cv_scores, per_fold.cv_scores, rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(blocks.coef, per_fold.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(blocks.intercept, per_fold.intercept, rtol=1e-9,
                                   atol=1e-12)


def test_refit_without_the_cv_products_fits_anew(monkeypatch):
    # Standardisation (per-fold scales) and folds that leave rows out of both sets refit
    # through ridge_fit; the coefficients are those of sklearn all the same.
    from skbrainmusic.ridge import _solvers

    X, Y = _problem(80, 12, n_targets=3, seed=9)
    calls = _counted(monkeypatch, _solvers, "ridge_fit")
    splits = clip_splits(4, n_clips=40, n_windows=2)
    result = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", standardize=True)
    assert calls == [1]
    partial = [(train[4:], val) for train, val in splits]  # no fold covers every row
    result = ridge_cv(X, Y, ALPHAS, partial, dtype="float64")
    assert calls == [1, 1]
    for target, alpha in enumerate(result.best_alphas):
        reference = Ridge(alpha=alpha).fit(X, Y[:, target])
        np.testing.assert_allclose(result.coef[:, target], reference.coef_, rtol=1e-8)


def test_constant_target_scores_zero_not_nan():
    X, Y = _problem(40, 6, n_targets=2, seed=5)
    Y[:, 1] = 2.0
    splits = clip_splits(4, n_clips=40, n_windows=1)
    for score in ("correlation", "r2"):
        result = ridge_cv(X, Y, ALPHAS, splits, score=score, return_cv_scores=True)
        assert np.all(np.isfinite(result.cv_scores))
        np.testing.assert_array_equal(result.cv_scores[:, 1], 0.0)
        np.testing.assert_allclose(result.coef[:, 1], 0.0, atol=1e-6)
        np.testing.assert_allclose(result.intercept[1], 2.0, rtol=1e-6)


def test_refit_false_and_1d_targets():
    X, Y = _problem(40, 6, n_targets=1, seed=6)
    splits = clip_splits(4, n_clips=20, n_windows=2)
    result = ridge_cv(X, Y[:, 0], ALPHAS, splits, refit=False)
    assert result.coef is None and result.intercept is None and result.cv_scores is None
    assert result.best_alphas.shape == (1,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alphas=[1.0, -1.0]), "alphas must be finite and > 0"),
    (dict(score="mse"), "score must be one of"),
    (dict(backend="jax"), "backend must be one of"),
    (dict(dtype="float16"), "dtype must be"),
    (dict(splits=[]), "splits is empty"),
    (dict(splits=[(np.arange(5), np.array([], dtype=int))]), "empty training or validation"),
    (dict(splits=[(np.arange(5), np.array([99]))]), "outside"),
])
def test_bad_arguments(kwargs, match):
    X, Y = _problem(20, 3, seed=7)
    arguments = dict(alphas=ALPHAS, splits=clip_splits(2, n_clips=20, n_windows=1))
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ridge_cv(X, Y, arguments.pop("alphas"), arguments.pop("splits"), **arguments)


def test_bad_data():
    X, Y = _problem(20, 3, seed=8)
    splits = clip_splits(2, n_clips=20, n_windows=1)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        ridge_cv(X_nan, Y, ALPHAS, splits)
    with pytest.raises(ValueError, match="first axes must match"):
        ridge_cv(X, Y[:10], ALPHAS, splits)
    with pytest.raises(ValueError, match="one value per target"):
        ridge_fit(X, Y, [1.0, 2.0])


@pytest.mark.parametrize("n_features", [6, 200], ids=["primal", "dual"])
def test_standardize_inside_folds_equals_scaler_pipeline(n_features, route):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, Y = _problem(80, n_features, seed=9)
    X[:, 1] = 4.0  # a constant column: never divided by zero, zero weight
    X *= np.linspace(0.1, 30, n_features)
    splits = clip_splits(4, n_clips=40, n_windows=2)
    alphas = np.array([1.0, 30.0, 1000.0])
    result = ridge_cv(X, Y, alphas, splits, dtype="float64", standardize=True,
                      return_cv_scores=True)
    expected = np.zeros((alphas.size, Y.shape[1]))
    for k, alpha in enumerate(alphas):
        for train, val in splits:
            model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(X[train], Y[train])
            expected[k] += _pearson(model.predict(X[val]), Y[val]) / len(splits)
    np.testing.assert_allclose(result.cv_scores, expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(result.coef[1], 0.0, atol=1e-12)
    for target, alpha in enumerate(result.best_alphas):
        model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(X, Y[:, target])
        np.testing.assert_allclose(X @ result.coef[:, target] + result.intercept[target],
                                   model.predict(X), rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tridiagonal_reduction_and_shifted_solves(dtype):
    from skbrainmusic.ridge._backend import Tridiagonal

    rng = np.random.default_rng(10)
    X = rng.standard_normal((30, 12)).astype(dtype)
    gram = X.T @ X
    form = Tridiagonal(gram)
    Q = form.times(np.eye(12, dtype=dtype))
    T = np.diag(form.diagonal) + np.diag(form.offdiagonal, 1) + np.diag(form.offdiagonal, -1)
    tolerance = 1e-10 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(Q @ T @ Q.T, gram, atol=tolerance * np.abs(gram).max())
    np.testing.assert_allclose(form.transpose_times(np.eye(12, dtype=dtype)), Q.T, atol=1e-6)
    rhs = rng.standard_normal((12, 3)).astype(dtype)
    solutions = form.shifted_solves([0.5, 20.0], rhs)
    for k, shift in enumerate([0.5, 20.0]):
        expected = np.linalg.solve(T.astype(np.float64) + shift * np.eye(12), rhs)
        np.testing.assert_allclose(solutions[:, k], expected, rtol=tolerance ** 0.5)


def test_tridiagonal_solves_clip_negative_eigenvalues_like_eigh():
    from skbrainmusic.ridge._backend import Tridiagonal

    rng = np.random.default_rng(11)
    vectors = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    eigenvalues = np.array([-1e-3, 0.0, 1.0, 2.0, 5.0, 9.0])  # round-off made one negative
    form = Tridiagonal(vectors @ np.diag(eigenvalues) @ vectors.T)
    rhs = rng.standard_normal((6, 2))
    shifts = [1e-4, 3.0]  # the first is not positive definite: eigen route, clipped
    Q = form.times(np.eye(6))
    solutions = form.shifted_solves(shifts, form.transpose_times(rhs))
    for k, shift in enumerate(shifts):
        expected = vectors @ np.diag(1 / (eigenvalues.clip(min=0) + shift)) @ vectors.T @ rhs
        np.testing.assert_allclose(Q @ solutions[:, k], expected, rtol=1e-8)
    single = Tridiagonal(np.array([[4.0]]))
    np.testing.assert_allclose(single.shifted_solves([1.0, 4.0], np.array([[10.0]]))[0],
                               [[2.0], [1.25]])


def test_torch_cuda_backend_matches_numpy_when_a_gpu_is_present():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, Y = _problem(160, 300, n_targets=9, seed=12)
    splits = clip_splits(5, n_clips=40, n_windows=4)
    reference = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", return_cv_scores=True)
    result = ridge_cv(X, Y, ALPHAS, splits, dtype="float64", backend="torch_cuda",
                      return_cv_scores=True)
    np.testing.assert_allclose(result.cv_scores, reference.cv_scores, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-8, atol=1e-11)


def test_torch_cuda_without_gpu_says_so():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    X, Y = _problem(20, 3, seed=13)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        ridge_cv(X, Y, ALPHAS, clip_splits(2, 20, 1), backend="torch_cuda")


def test_batched_cholesky_falls_back_to_eigh_when_not_positive_definite():
    torch = pytest.importorskip("torch")
    from skbrainmusic.ridge._backend import ShiftedCholesky

    rng = np.random.default_rng(0)
    basis = rng.standard_normal((6, 2))
    matrix = torch.as_tensor(basis @ basis.T)  # rank 2: singular
    rhs = torch.as_tensor(rng.standard_normal((6, 3)))
    shifts = np.array([-1e-3, 1.0])  # the first shifted copy is indefinite
    solver = ShiftedCholesky(torch, matrix)
    out = solver.shifted_solves(shifts, rhs).numpy()
    eigenvalues, vectors = np.linalg.eigh(basis @ basis.T)
    for k, shift in enumerate(shifts):
        expected = vectors @ ((vectors.T @ rhs.numpy()) / (eigenvalues.clip(min=0)
                                                            + shift)[:, None])
        np.testing.assert_allclose(out[:, k], expected, rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="same shifts"):
        solver.shifted_solves(shifts * 2, rhs)
    positive = ShiftedCholesky(torch, matrix).shifted_solves(np.array([0.5, 2.0]), rhs)
    for k, shift in enumerate((0.5, 2.0)):
        np.testing.assert_allclose(positive[:, k].numpy(), np.linalg.solve(
            basis @ basis.T + shift * np.eye(6), rhs.numpy()), rtol=1e-8, atol=1e-10)
