"""The demo: the paper end to end on simulated subjects, offline (``skbrainmusic demo``)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._experiment import STEP, run_experiment
from ._features import EmbeddingSpec, audio_embedder, caption_embedder

# Sizes of the simulated study per scale. "tiny" exists for the test suite (seconds, noisy
# numbers); "small" is the default; "paper" has the sizes of ds003720.
DEMO_SCALES = {
    "tiny": {
        "study": {"scale": "small", "n_train_runs": 1, "n_test_runs": 1, "n_voxels": 400,
                  "n_corpus": 24},
        "n_subjects": 2, "cv": 3, "n_permutations": 1000, "n_examples": 2,
        # A coarse spectrogram: the mel inversion dominates the demo's run time.
        "generator": {"n_mels": 32, "hop_length": 1024, "n_iter": 8},
    },
    "small": {
        "study": {"scale": "small"},
        "n_subjects": 5, "cv": 5, "n_permutations": 5000, "n_examples": 4, "generator": {},
    },
    "paper": {
        "study": {"scale": "paper"},
        "n_subjects": 5, "cv": 5, "n_permutations": 2000, "n_examples": 6, "generator": {},
    },
}
#: The demo's music embedding (the MuLan-music analog, decoded for reconstruction).
DEMO_MUSIC = "librosa-10s"
#: The demo's evaluation embeddings of Figure 1a: music and low-level (SoundStream analog).
DEMO_EVALUATION = (DEMO_MUSIC, "mel-1.5s")


def demo_embeddings(study, *, cache=None, random_state=0):
    """The demo's Table-1 embeddings: offline stand-ins for the paper's, in its order.

    The 10 s audio features play MuLan-music (the reconstruction target); 1.5 s log-mel is
    the low-level embedding of Figure 1a.

    Parameters
    ----------
    study : Bunch
        The study (its ``sample_rate``, ``clip_duration`` and number of training clips).
    cache : str or path-like, default=None
        On-disk cache of the audio embeddings.
    random_state : int, default=0
        Seed of the caption embedding's SVD.

    Returns
    -------
    embeddings : list of EmbeddingSpec

    Examples
    --------
    >>> from sklearn.utils import Bunch
    >>> from skbrainmusic.experiments import demo_embeddings
    >>> study = Bunch(sample_rate=22050, clip_duration=15.0, clips_train=range(40))
    >>> [spec.key for spec in demo_embeddings(study)]
    ['mel-1.5s', 'librosa-5s', 'caption-tfidf', 'librosa-10s']
    """
    def audio(key, label, analog, window, backend):
        return EmbeddingSpec(key, audio_embedder(
            backend, window, step=STEP, sample_rate=study.sample_rate,
            clip_duration=study.clip_duration, cache=cache), window, label=label,
            analog=analog)

    return [
        audio("mel-1.5s", "log-mel, 1.5 s windows", "SoundStream-avg", 1.5, "mel"),
        audio("librosa-5s", "audio features, 5 s windows", "w2v-BERT-avg", 5.0, "librosa"),
        EmbeddingSpec("caption-tfidf", caption_embedder(len(study.clips_train),
                                                        random_state=random_state),
                      study.clip_duration, source="captions", label="caption TF-IDF + SVD",
                      analog="MuLan text"),
        audio(DEMO_MUSIC, "audio features, 10 s windows", "MuLan music", 10.0, "librosa"),
    ]


@dataclass(frozen=True)
class SyntheticStudies(Sequence):
    """Simulated subjects of one synthetic study, loaded (and cached) on access.

    A sequence of :func:`~skbrainmusic.datasets.make_synthetic_study` Bunches that is cheap
    to ship to parallel workers: each loads its subject from the cache.

    Parameters
    ----------
    subjects : tuple of int
        Subject numbers.
    random_state : int, default=0
        Seed of the study.
    data_home : str or path-like, default=None
        Cache folder root.
    study : dict
        Further :func:`~skbrainmusic.datasets.make_synthetic_study` parameters (sizes).

    Examples
    --------
    >>> from skbrainmusic.experiments import SyntheticStudies
    >>> studies = SyntheticStudies((1, 2), study={"n_voxels": 300})
    >>> len(studies)
    2
    """

    subjects: tuple
    random_state: int = 0
    data_home: object = None
    study: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.subjects)

    def __getitem__(self, index):
        from ..datasets import make_synthetic_study

        return make_synthetic_study(subject=self.subjects[index],
                                    random_state=self.random_state,
                                    data_home=self.data_home, **self.study)


def run_demo(scale="small", *, random_state=0, n_subjects=None, data_home=None,
             progress=None):
    """Run the demo: the paper's study on simulated subjects, offline.

    Simulates a study (:func:`~skbrainmusic.datasets.make_synthetic_study`), decodes the
    four embeddings of :func:`demo_embeddings` from fMRI, reconstructs music by retrieval
    from the study's corpus and with the spectrogram generator, tags it with an offline
    tagger fitted on the corpus labels, and fits encoding models: every number of the
    report of ``skbrainmusic demo``.

    Parameters
    ----------
    scale : {"tiny", "small", "paper"}, default="small"
        ``"small"``: minutes on 2 cores; ``"paper"``: the paper's 480 + 60 clips and about
        60,000 voxels; ``"tiny"``: seconds, for tests (numbers are noisy).
    random_state : int, default=0
        Seed of the study and of the experiment.
    n_subjects : int, default=None
        Simulated subjects; ``None``: 5 (2 at tiny scale).
    data_home : str or path-like, default=None
        Where the simulated study and the embeddings are cached (default:
        ``$SKBRAINMUSIC_DATA`` or ``~/skbrainmusic_data``).
    progress : object, default=None
        Progress reporter (see :func:`run_experiment`).

    Returns
    -------
    results : ExperimentResults

    Examples
    --------
    >>> from skbrainmusic.experiments import run_demo
    >>> results = run_demo(scale="tiny", random_state=0)  # doctest: +SKIP
    >>> results.table1[("identification_test", "mean")]  # doctest: +SKIP
    """
    from ..datasets import get_data_home
    from ..generation import ConditionedGenerator, SpectrogramBackend

    if scale not in DEMO_SCALES:
        raise ValueError(f"scale must be one of {sorted(DEMO_SCALES)}, got {scale!r}.")
    settings = DEMO_SCALES[scale]
    n_subjects = settings["n_subjects"] if n_subjects is None else n_subjects
    if not isinstance(n_subjects, int) or n_subjects < 1:
        raise ValueError(f"n_subjects must be at least 1, got {n_subjects!r}.")
    studies = SyntheticStudies(tuple(range(1, n_subjects + 1)), random_state, data_home,
                               settings["study"])
    if progress is not None:
        progress.log("building the synthetic study (subject 1; cached after the first run)")
    first = studies[0]
    cache = get_data_home(data_home) / "embedding_cache"
    return run_experiment(
        studies, demo_embeddings(first, cache=cache, random_state=random_state),
        music=DEMO_MUSIC, evaluation=DEMO_EVALUATION, corpus=first.corpus,
        generator=ConditionedGenerator(SpectrogramBackend(**settings["generator"]),
                                       random_state=random_state),
        tagger="music", cv=settings["cv"], n_permutations=settings["n_permutations"],
        n_examples=settings["n_examples"], random_state=random_state, progress=progress,
        settings={"scale": scale, "study": settings["study"],
                  "generator": settings["generator"], "data_home": data_home})
