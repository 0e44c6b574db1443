"""One place for parameter documentation shared by several estimators (nilearn's fill_doc).

Use ``%(name)s`` in a docstring and decorate the object with :func:`fill_doc`.
"""

docdict = {
    "groups": """groups : array-like of shape (n_clips,), default=None
        Group label of every clip (e.g. the run it was presented in). When given, every
        internal cross-validation split keeps each group on one side.""",
    "cv": """cv : int or cross-validation splitter, default=5
        Folds of the internal cross-validation over clips. An int means ``KFold(cv)``
        (unshuffled, as the paper); any scikit-learn splitter is accepted. All windows of a
        clip always fall in the same fold.""",
    "n_jobs": """n_jobs : int, default=None
        Number of joblib workers. ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context (e.g. ``"dask"`` to scale out on a cluster).""",
    "backend": """backend : {"numpy", "torch", "torch_cuda"}, default="numpy"
        Array library of the solver: numpy/scipy on CPU, or torch on CPU or a CUDA device
        (needs the ``deep`` extra).""",
    "dtype": """dtype : {"float32", "float64"}, default="float32"
        Precision of the linear algebra, whatever the input dtype (CV scores are
        accumulated in float64).""",
    "run": """run : array-like of shape (n_scans, n_voxels)
        One run of scans.""",
    "tr": """tr : float, default=1.5
        Repetition time in seconds.""",
    "spaces_train_test": """Y_train : array-like of shape (n_clips, n_windows, n_voxels) or \
(n_clips, n_voxels)
        Training responses.
    Xs_test : dict of str to array-like of shape (n_test_clips, n_windows, n_features_i)
        The same spaces on held-out clips.
    Y_test : array-like of shape (n_test_clips, n_windows, n_voxels) or """
    """(n_test_clips, n_voxels)
        Held-out responses.""",
    "X_clips": """X : array-like of shape (n_clips, n_windows, n_features) or \
(n_samples, n_features)
        Input. 2-D input means one window per sample.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seed of the random number generator; pass an int for reproducible output.""",
    # Method docstrings (deeper indentation).
    "waveforms": """X : array-like of shape (n_clips, n_samples)
            Waveforms.
        sample_rate : int
            Their sample rate.""",
    "texts": """X : list of str or array-like of shape (n_texts,)
            Captions.""",
    "brain_values": """values : array-like of shape (n_voxels,) or nibabel image
        Per-voxel values (NaN: transparent), or a 3-D image.
    mask_img : nibabel image or path, default=None
        The voxels' mask, needed with an array of values: voxel ``i`` is its ``i``-th
        non-zero voxel in C order (the study Bunch's ``mask_img``).
    significant : array-like of bool of shape (n_voxels,), default=None
        Voxels to draw (e.g. the FDR-significant ones); the others are transparent.""",
    "brain_colours": """threshold : float, default=0.0
        Values with ``|value| <= threshold`` are transparent (zeros always are).
    vmax : float, default=None
        Colour scale limit (symmetric); None takes the largest ``|value|`` of all voxels,
        significant or not, so that maps of several models can share a scale.
    cmap : str, default="cold_hot"
        Colour map (matplotlib's or nilearn's).
    title : str, default=None
        Figure title.""",
}


def fill_doc(obj):
    """Fill ``%(name)s`` placeholders in ``obj.__doc__`` from :data:`docdict`."""
    if obj.__doc__:
        obj.__doc__ = obj.__doc__ % docdict
    return obj
