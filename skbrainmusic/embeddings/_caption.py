"""CaptionEmbedder: texts -> ``(n_texts, d)`` (MuLan-text counterparts)."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_doc
from .._validation import check_positive_int
from ._hf import _import_transformers, load_pretrained
from ._standardize import (
    apply_standardization,
    check_standardization_fitted,
    fit_standardization,
)

_BACKENDS = ("tfidf", "clap", "bert")
_DEFAULT_CHECKPOINTS = {"clap": "laion/larger_clap_music", "bert": "google-bert/bert-base-uncased"}


def _check_texts(texts):
    """``texts`` as a list of str, with errors that say what was given instead."""
    if isinstance(texts, str):
        raise TypeError("texts is a single string; pass a list of texts, even of one.")
    if hasattr(texts, "ndim") and texts.ndim != 1:
        raise ValueError(f"texts must be 1-D (n_texts,); got shape {texts.shape}.")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: pass at least one text.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"texts[{index}] is {text!r} ({type(text).__name__}), not a string: "
                "drop or fill missing captions first."
            )
    return texts


class CaptionEmbedder(TransformerMixin, BaseEstimator):
    """Embed text captions into vectors, the MuLan-text view of a clip (Table A.2, r = 1).

    Raw dimensions are not comparable: on the 540 Brain2Music captions, the first TF-IDF
    component is an offset every caption shares (mean 0.31, 3.5 times its spread) and the
    spreads of the 128 components differ 3-fold; the hidden states of BERT-like models have
    a few outlier dimensions far larger than the rest. The identification accuracy
    correlates whole vectors, so with ``standardize=True`` (default) :meth:`fit` also
    learns the mean and standard deviation of every dimension over its texts and
    :meth:`transform` applies them, as :class:`~skbrainmusic.AudioEmbedder` does for
    audio.

    Parameters
    ----------
    backend : {"tfidf", "clap", "bert"}, default="tfidf"
        - ``"tfidf"``: offline default, no weights: TF-IDF (sublinear term frequencies,
          English stop words removed) reduced by a truncated SVD fitted on the texts given
          to :meth:`fit`, rows L2-normalised (latent semantic analysis).
        - ``"clap"``: CLAP text tower (``ClapModel.get_text_features``), projected and
          L2-normalised: the counterpart of MuLan's text tower, in the same space as
          ``AudioEmbedder(backend="clap")``.
        - ``"bert"``: a BERT-family encoder (``AutoModel``), last hidden state mean-pooled
          over the tokens.
    n_components : int, default=128
        Dimension of the ``"tfidf"`` embedding (MuLan's is 128); at most the number of
        fitted texts and of distinct terms. The model backends have their model's width.
    model : None, str, path-like or (model, tokenizer) tuple, default=None
        Model backends only: a local path or hub id (loaded with ``local_files_only``), or
        a pair of a ``transformers`` model object and its tokenizer. ``None`` loads
        ``laion/larger_clap_music`` (clap) or ``google-bert/bert-base-uncased`` (bert).
    batch_size : int, default=32
        Texts per forward pass of the model backends.
    device : str, default="cpu"
        Torch device of the model backends.
    local_files_only : bool, default=True
        Load named models from local files only; set False to allow downloads.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomised SVD of ``"tfidf"``.
    standardize : bool, default=True
        Standardise every dimension with the mean and standard deviation of the texts
        given to :meth:`fit` (a dimension constant over them keeps scale 1). ``False``:
        the raw embedding (rows of unit norm for ``"tfidf"`` and ``"clap"``), e.g. to
        compare CLAP text and audio embeddings in their joint space, which separate
        statistics per modality would break.

    Attributes
    ----------
    vectorizer_ : sklearn.feature_extraction.text.TfidfVectorizer
        Fitted TF-IDF vocabulary (``"tfidf"`` only).
    svd_ : sklearn.decomposition.TruncatedSVD
        Fitted projection (``"tfidf"`` only).
    model_, tokenizer_ : objects
        Loaded model (in evaluation mode, on ``device``) and tokenizer (model backends).
    mean_, scale_ : ndarray of shape (d,), dtype float64
        Mean and standard deviation (1 for a constant dimension) of every raw dimension
        over the fitted texts (``standardize=True`` only).

    Notes
    -----
    The input is texts, not a feature matrix, so there is no ``n_features_in_``.

    Examples
    --------
    >>> from skbrainmusic import CaptionEmbedder
    >>> texts = ["calm piano with soft strings", "loud distorted guitars and drums",
    ...          "a slow jazz trio with brushed drums", "upbeat disco with a funky bass"]
    >>> embedded = CaptionEmbedder(n_components=2, random_state=0).fit_transform(texts)
    >>> embedded.shape
    (4, 2)
    >>> embedded.std(axis=0).round(3).tolist()
    [1.0, 1.0]
    """

    def __init__(self, backend="tfidf", n_components=128, model=None, batch_size=32,
                 device="cpu", local_files_only=True, random_state=None, standardize=True):
        self.backend = backend
        self.n_components = n_components
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.local_files_only = local_files_only
        self.random_state = random_state
        self.standardize = standardize

    @fill_doc
    def fit(self, X, y=None):
        """Fit the TF-IDF + SVD on ``X`` (``"tfidf"``) or load the model, then learn the
        per-dimension statistics of the embedded ``X`` (``standardize=True``).

        Parameters
        ----------
        %(texts)s
        y : None
            Ignored.

        Returns
        -------
        self : CaptionEmbedder
        """
        self._fit(X)
        return self

    @fill_doc
    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its embedding, embedding every text once.

        Parameters
        ----------
        %(texts)s
        y : None
            Ignored.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, d), dtype float32
        """
        raw = self._fit(X)
        if raw is None:
            return self.transform(X)
        return apply_standardization(raw, self.mean_, self.scale_)

    def _fit(self, X):
        """Fit; return the raw embedding of ``X`` when it was computed, else None."""
        texts = _check_texts(X)
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not one of {list(_BACKENDS)}.")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}.")
        check_positive_int(self.batch_size, "batch_size")
        if self.backend == "tfidf":
            self._fit_tfidf(texts)
        else:
            model = self.model if self.model is not None else _DEFAULT_CHECKPOINTS[self.backend]
            model_class = "ClapModel" if self.backend == "clap" else "AutoModel"
            self.model_, self.tokenizer_ = load_pretrained(
                model, self.backend, model_class, "AutoTokenizer", self.local_files_only
            )
            if self.tokenizer_ is None:
                raise ValueError(
                    f"backend={self.backend!r} needs a tokenizer with a model object: pass "
                    "model=(model, tokenizer), or a path / hub id."
                )
            self.model_.eval()
            self.model_.to(self.device)
        for name in ("mean_", "scale_"):
            vars(self).pop(name, None)
        if not self.standardize:
            return None
        raw = self._embed(texts)
        self.mean_, self.scale_ = fit_standardization(raw)
        return raw

    def _fit_tfidf(self, texts):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        n_components = check_positive_int(self.n_components, "n_components")
        self.vectorizer_ = TfidfVectorizer(sublinear_tf=True, stop_words="english",
                                           strip_accents="unicode")
        tfidf = self.vectorizer_.fit_transform(texts)
        rank = min(tfidf.shape)
        if n_components > rank:
            raise ValueError(
                f"n_components={n_components} exceeds what {tfidf.shape[0]} texts with "
                f"{tfidf.shape[1]} distinct terms can give (at most {rank}): lower "
                "n_components or fit on more captions."
            )
        self.svd_ = TruncatedSVD(n_components=n_components, algorithm="randomized",
                                 random_state=self.random_state).fit(tfidf)

    @fill_doc
    def transform(self, X):
        """Embed texts.

        Parameters
        ----------
        %(texts)s

        Returns
        -------
        embeddings : ndarray of shape (n_texts, d), dtype float32
            ``d = n_components`` for ``"tfidf"``, the model's width otherwise; with
            ``standardize=False``, rows of ``"tfidf"`` and ``"clap"`` have unit norm.
        """
        texts = _check_texts(X)
        if self.standardize:
            check_standardization_fitted(self)
        raw = self._embed(texts)
        if not self.standardize:
            return raw
        return apply_standardization(raw, self.mean_, self.scale_)

    def _embed(self, texts):
        """Raw embedding ``(n_texts, d)`` float32 (a new array)."""
        if self.backend == "tfidf":
            from sklearn.preprocessing import normalize

            check_is_fitted(self, "svd_")
            reduced = self.svd_.transform(self.vectorizer_.transform(texts))
            return normalize(reduced).astype(np.float32)
        check_is_fitted(self, "model_")
        return self._transform_model(texts)

    def _transform_model(self, texts):
        torch, _ = _import_transformers()
        config = self.model_.config
        text_config = getattr(config, "text_config", config)
        max_length = min(int(self.tokenizer_.model_max_length),
                         int(text_config.max_position_embeddings) - 2)
        batch_size = check_positive_int(self.batch_size, "batch_size")
        vectors = []
        with torch.no_grad():
            for begin in range(0, len(texts), batch_size):
                inputs = self.tokenizer_(
                    texts[begin : begin + batch_size], padding=True, truncation=True,
                    max_length=max_length, return_tensors="pt",
                )
                inputs = {key: value.to(self.device) for key, value in inputs.items()
                          if key in ("input_ids", "attention_mask")}
                if self.backend == "clap":
                    output = self.model_.get_text_features(**inputs)
                    batch = getattr(output, "pooler_output", output)
                else:
                    hidden = self.model_(**inputs).last_hidden_state
                    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    batch = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
                vectors.append(batch.to("cpu", torch.float32).numpy())
        return np.concatenate(vectors)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Texts in, like TfidfVectorizer: scikit-learn's numeric-matrix checks do not apply.
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


