"""Variance partitioning of two feature spaces with banded ridge (paper A.1.8).

Three models are fitted on the training clips and scored on held-out clips, per voxel, in
R^2 (coefficient of determination, the share of the voxel's variance explained; not r^2):

- the joint model of both spaces, a banded ridge (himalaya ``BandedRidgeCV``) that learns
  one penalty per space and voxel, so the better space is not drowned by the other;
- the single models of space A and of space B (:class:`VoxelwiseEncoder`, the shared
  ridge solver core);

all with penalties chosen by cross-validated R^2 on the same clip folds (a correlation-based
choice ignores the scale of the predictions and can favour over-shrunk weights, which would
bias an R^2 difference). The scores are combined as set arithmetic:
``unique(A) = joint - single(B)``, ``unique(B) = joint - single(A)``,
``shared = single(A) + single(B) - joint``. Held-out R^2 can be negative and the differences
are estimates, so small negative unique or shared values are noise, not errors; they are
returned as they are (not clipped) so that averages stay unbiased.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import r2_score

from .._docs import fill_doc
from .._validation import check_clips, check_positive_int, check_targets
from ..ridge import DEFAULT_ALPHAS, clip_splits
from ._voxelwise import VoxelwiseEncoder


@dataclass
class VariancePartition:
    """Result of :func:`variance_partitioning`; every array has shape (n_voxels,).

    Attributes
    ----------
    names : tuple of str
        The two feature-space names (A, B).
    joint : ndarray
        Held-out R^2 of the banded-ridge model of both spaces.
    single : dict of str to ndarray
        Held-out R^2 of each space's own model.
    unique : dict of str to ndarray
        ``unique[A] = joint - single[B]`` and ``unique[B] = joint - single[A]``.
    shared : ndarray
        ``single[A] + single[B] - joint``.
    """

    names: tuple
    joint: np.ndarray
    single: dict
    unique: dict
    shared: np.ndarray


@contextmanager
def _himalaya_backend(name):
    """Switch himalaya's global backend for the duration of a fit, then restore it."""
    from himalaya.backend import get_backend, set_backend

    previous = get_backend()
    backend = set_backend(name, on_error="raise")
    try:
        yield backend
    finally:
        set_backend(previous)


def _check_spaces(Xs, name):
    if not isinstance(Xs, dict) or len(Xs) != 2:
        raise ValueError(
            f"{name} must be a dict of exactly two feature spaces, e.g. "
            f"{{'music': X_music, 'text': X_text}}; got {type(Xs).__name__}"
            + (f" with {len(Xs)} entries." if isinstance(Xs, dict) else ".")
        )
    spaces = {key: check_clips(value, name=f"{name}[{key!r}]")[0] for key, value in Xs.items()}
    shapes = {key: value.shape[:2] for key, value in spaces.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"The feature spaces of {name} differ in (n_clips, n_windows): {shapes}.")
    return spaces


def _flat(A):
    return A.reshape(A.shape[0] * A.shape[1], -1)


@fill_doc
def variance_partitioning(Xs_train, Y_train, Xs_test, Y_test, *, alphas=None, cv=5,
                          groups=None, n_ratios=9, n_targets_batch=None, backend="numpy"):
    """Joint, single, unique and shared held-out R^2 of two feature spaces, per voxel.

    Parameters
    ----------
    Xs_train : dict of str to array-like of shape (n_clips, n_windows, n_features_i)
        Exactly two training feature spaces (2-D arrays mean one window per clip); clip-level
        features must be up-sampled to windows first (:func:`upsample_to_windows`).
    %(spaces_train_test)s
    alphas : array-like of shape (n_alphas,), default=None
        Overall ridge penalties tried by every model (``None``: ``np.logspace(-1, 7, 20)``).
    %(cv)s
    %(groups)s
    n_ratios : int, default=9
        Number of relative weightings of the two spaces tried by the banded ridge, log-spaced
        from 1:100 to 100:1.
    n_targets_batch : int, default=None
        Voxels solved at once (memory knob).
    %(backend)s

    Returns
    -------
    partition : VariancePartition
        ``joint``, ``single``, ``unique`` and ``shared`` R^2 per voxel.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic.encoding import variance_partitioning
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.standard_normal((60, 2, 5)), rng.standard_normal((60, 2, 5))
    >>> Y = A @ rng.standard_normal((5, 3)) + 0.5 * rng.standard_normal((60, 2, 3))
    >>> part = variance_partitioning({"a": A[:40], "b": B[:40]}, Y[:40],
    ...                              {"a": A[40:], "b": B[40:]}, Y[40:])
    >>> bool(np.all(part.unique["a"] > 0.5)), bool(np.all(np.abs(part.unique["b"]) < 0.1))
    (True, True)
    """
    from himalaya.ridge import BandedRidgeCV
    from himalaya.scoring import r2_score as himalaya_r2

    train = _check_spaces(Xs_train, "Xs_train")
    test = _check_spaces(Xs_test, "Xs_test")
    if train.keys() != test.keys():
        raise ValueError(
            f"Xs_train has spaces {list(train)} but Xs_test has {list(test)}; use the same keys."
        )
    names = tuple(train)
    Y_train3, _ = check_targets(Y_train, next(iter(train.values())), name="Y_train")
    Y_test3, _ = check_targets(Y_test, next(iter(test.values())), name="Y_test")
    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64)
    n_ratios = check_positive_int(n_ratios, "n_ratios")
    n_clips, n_windows = Y_train3.shape[:2]
    splits = clip_splits(cv, n_clips, n_windows, groups)

    single = {}
    for name in names:
        encoder = VoxelwiseEncoder(alphas=alphas, cv=cv, backend=backend,
                                   n_targets_batch=n_targets_batch, scoring="r2")
        encoder.fit(train[name], Y_train3, groups=groups)
        single[name] = r2_score(_flat(Y_test3), _flat(encoder.predict(test[name])),
                                multioutput="raw_values")

    ratios = np.logspace(-2, 2, n_ratios)
    weight_a = ratios / (1.0 + ratios)
    gammas = np.stack([weight_a, 1.0 - weight_a], axis=1)
    dtype = np.result_type(*(space.dtype for space in train.values()), Y_train3.dtype)
    with _himalaya_backend(backend) as himalaya_backend:
        joint_model = BandedRidgeCV(
            groups="input", fit_intercept=True, cv=splits,
            solver_params=dict(n_iter=gammas.astype(dtype), alphas=alphas.astype(dtype),
                               n_targets_batch=n_targets_batch, score_func=himalaya_r2,
                               progress_bar=False),
        )
        joint_model.fit([_flat(train[name]).astype(dtype) for name in names],
                        _flat(Y_train3).astype(dtype))
        joint_pred = himalaya_backend.to_numpy(
            joint_model.predict([_flat(test[name]).astype(dtype) for name in names]))
    joint = r2_score(_flat(Y_test3), joint_pred, multioutput="raw_values")

    name_a, name_b = names
    unique = {name_a: joint - single[name_b], name_b: joint - single[name_a]}
    shared = single[name_a] + single[name_b] - joint
    return VariancePartition(names=names, joint=joint, single=single, unique=unique,
                             shared=shared)
