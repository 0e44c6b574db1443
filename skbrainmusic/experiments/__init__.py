"""The paper's study as one call: Table 1, Figure 1 and encoding on any data Bunch.

:func:`run_experiment` runs the Brain2Music study on the studies of one or more subjects
(the synthetic study of :func:`~skbrainmusic.datasets.make_synthetic_study`, or ds003720
from :func:`~skbrainmusic.datasets.load_nakai2022`) with any embedders
(:class:`EmbeddingSpec`), generator and tagger, and returns an
:class:`ExperimentResults`: Table 1 (every embedding decoded from fMRI), Figure 1
(reconstruction by retrieval and by generation from calibrated predictions, with the oracle
and chance references, per genre and within genre) and encoding models, every headline
number with a bootstrap interval over clips, a test against chance per subject and, for
generation, a paired comparison with retrieval. :func:`run_demo` is the configuration of
``skbrainmusic demo``; both command-line commands ``demo`` and ``decode`` are thin shells
around this module.

Uncertainty
-----------
Every headline number is a mean over test clips (of one subject, then over subjects).

- Interval: the test clips are resampled with replacement ``n_bootstraps`` times, with the
  same resamples for every number and subject (so intervals of differences are paired); a
  number is recomputed on every resample (per-clip scores averaged over the resampled clips,
  each keeping the score it has against all test clips; correlations recomputed from the
  resampled clips' windows; a mean over subjects recomputed for every subject on the same
  resample), and the interval is the central ``confidence`` range of the percentiles.
- Test against chance (per subject): a one-sided permutation test of the pairing of the
  predictions or reconstructions with the stimuli. They are shuffled across test clips
  ``n_permutations`` times (within genre for within-genre scores), the score is
  recomputed, and ``p = (1 + #{permuted >= observed}) / (1 + n_permutations)``. Under the
  null hypothesis the reconstructions carry no information on which clip they stand for:
  identification accuracy is then 0.5 on average, and the top-n agreement that of unrelated
  clips of the same set.
- Paired comparison: generation minus retrieval clip by clip, its mean and bootstrap
  interval.

Examples
--------
>>> from skbrainmusic.experiments import run_demo
>>> results = run_demo(scale="tiny", random_state=0)  # doctest: +SKIP
>>> results.table1["identification_test"]  # doctest: +SKIP
"""

from ._demo import (
    DEMO_EVALUATION,
    DEMO_MUSIC,
    DEMO_SCALES,
    SyntheticStudies,
    demo_embeddings,
    demo_generator,
    run_demo,
)
from ._encoding import EncodingResults, run_encoding
from ._experiment import (
    attribute_accuracy,
    attribute_table,
    clip_labels,
    decoding_pipeline,
    run_experiment,
    tempo_within,
)
from ._features import (
    EmbeddingSpec,
    StimulusFeatures,
    TaggerFeatures,
    audio_embedder,
    caption_embedder,
)
from ._results import ExperimentResults, SubjectResult, mean_std, to_builtin

__all__ = [
    "DEMO_EVALUATION",
    "DEMO_MUSIC",
    "DEMO_SCALES",
    "EmbeddingSpec",
    "EncodingResults",
    "ExperimentResults",
    "StimulusFeatures",
    "SubjectResult",
    "SyntheticStudies",
    "TaggerFeatures",
    "attribute_accuracy",
    "attribute_table",
    "audio_embedder",
    "caption_embedder",
    "clip_labels",
    "decoding_pipeline",
    "demo_embeddings",
    "demo_generator",
    "mean_std",
    "run_demo",
    "run_encoding",
    "run_experiment",
    "tempo_within",
    "to_builtin",
]
