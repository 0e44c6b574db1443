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
    },
    "small": {
        "study": {"scale": "small"},
        "n_subjects": 5, "cv": 5, "n_permutations": 5000, "n_examples": 4,
    },
    "paper": {
        "study": {"scale": "paper"},
        "n_subjects": 5, "cv": 5, "n_permutations": 2000, "n_examples": 6,
    },
}
#: The demo's music embedding (the MuLan-music analog, decoded for reconstruction).
DEMO_MUSIC = "librosa-10s"
#: A second evaluation embedding, of a feature family the music one does not use (the
#: modulation spectrum of band envelopes; no paper counterpart).
DEMO_MODULATION = "modulation-10s"
#: The demo's evaluation embeddings of Figure 1a: music, low-level (SoundStream analog) and
#: the modulation spectrum, so that generation is not judged only in the features it was
#: conditioned on.
DEMO_EVALUATION = (DEMO_MUSIC, "mel-1.5s", DEMO_MODULATION)
#: The features of the tagger scoring top-n agreement (10 s log-mel windows): a family the
#: generator's conditioning embedding (DEMO_MUSIC) does not use.
DEMO_TAGGER = ("mel", 10.0)
#: The features of the generator's own instrument and mood tagger (learnt on its corpus).
DEMO_ATTRIBUTE_TAGGER = ("librosa", 10.0)


def demo_embeddings(study, *, cache=None, random_state=0):
    """The demo's Table-1 embeddings: offline stand-ins for the paper's, in its order.

    The 10 s audio features play MuLan-music (the reconstruction target); 1.5 s log-mel is
    the low-level embedding of Figure 1a; the 10 s modulation spectrum (no paper
    counterpart) is a second evaluation embedding of another feature family.

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
    ['mel-1.5s', 'librosa-5s', 'caption-tfidf', 'librosa-10s', 'modulation-10s']
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
        audio(DEMO_MODULATION, "modulation spectrum, 10 s windows", "", 10.0, "modulation"),
    ]


@dataclass(frozen=True)
class SyntheticStudies(Sequence):
    """Simulated subjects of one synthetic study, loaded (and cached) on access.

    A sequence of :func:`~skbrainmusic.datasets.make_synthetic_study` Bunches that is cheap
    to ship to parallel workers: each loads its subject from the cache. The subject loaded
    last is kept, so that indexing it again returns the same Bunch instead of mapping its
    files once more (the demo's main process reads the first subject twice); it is not
    pickled.

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
    _last: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self):
        return len(self.subjects)

    def __getitem__(self, index):
        from ..datasets import make_synthetic_study

        subject = self.subjects[index]
        loaded = self._last.get(subject)
        if loaded is None:
            loaded = make_synthetic_study(subject=subject, random_state=self.random_state,
                                          data_home=self.data_home, **self.study)
            self._last.clear()
            self._last[subject] = loaded
        return loaded

    def __getstate__(self):
        return {**self.__dict__, "_last": {}}


def _tagger(features, study, cache):
    from ..tagging import AudioTagger

    backend, window = features
    return AudioTagger(embedder=audio_embedder(backend, window, step=STEP,
                                               sample_rate=study.sample_rate,
                                               clip_duration=study.clip_duration, cache=cache))


def demo_generator(study, *, cache=None, random_state=0):
    """The demo's generator: a score-conditioned one learning from the study's corpus.

    A :class:`~skbrainmusic.generation.ScoreBackend` whose instrument and mood attributes
    come from an offline tagger (:data:`DEMO_ATTRIBUTE_TAGGER` features) fitted here on
    the corpus clips' instrument and mood labels (genres are learnt from the corpus'
    genre labels by the backend itself). The fitted tagger is frozen, so that cloning the
    generator keeps it.

    Parameters
    ----------
    study : Bunch
        A synthetic study with its ``corpus`` (``audio``, ``clips`` with ``instruments``
        and ``moods``), ``sample_rate`` and ``clip_duration``.
    cache : str or path-like, default=None
        On-disk cache of the audio embeddings and of the corpus clips' estimated musical
        attributes (the backend's ``cache``).
    random_state : int, default=0
        Seed of the generation.

    Returns
    -------
    generator : ConditionedGenerator
        Unfitted (:func:`run_experiment` fits it on the corpus).

    Examples
    --------
    >>> from skbrainmusic.experiments import demo_generator
    >>> generator = demo_generator(study)  # doctest: +SKIP
    """
    from sklearn.frozen import FrozenEstimator

    from ..generation import ConditionedGenerator, ScoreBackend

    clips = study.corpus.clips
    labels = [list(i) + list(m) for i, m in zip(clips.instruments, clips.moods)]
    tagger = _tagger(DEMO_ATTRIBUTE_TAGGER, study, cache).fit(
        study.corpus.audio, labels, sample_rate=study.sample_rate)
    return ConditionedGenerator(ScoreBackend(FrozenEstimator(tagger), cache=cache,
                                             random_state=random_state),
                                random_state=random_state)


def run_demo(scale="small", *, random_state=0, n_subjects=None, data_home=None,
             progress=None):
    """Run the demo: the paper's study on simulated subjects, offline.

    Simulates a study (:func:`~skbrainmusic.datasets.make_synthetic_study`), decodes the
    four embeddings of :func:`demo_embeddings` from fMRI, reconstructs music by retrieval
    from the study's corpus and with the score-conditioned generator of
    :func:`demo_generator` (learning from the corpus and its genre labels, shrinking the
    decoded attributes as chosen on out-of-fold predictions of the training clips), tags
    it with an offline log-mel tagger fitted on the training stimuli' labels (clips the
    generator never learns from), and fits encoding models: every number of the report of
    ``skbrainmusic demo``.

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
        generator=demo_generator(first, cache=cache, random_state=random_state),
        tagger=_tagger(DEMO_TAGGER, first, cache), cv=settings["cv"],
        n_permutations=settings["n_permutations"], n_examples=settings["n_examples"],
        random_state=random_state, progress=progress,
        settings={"scale": scale, "study": settings["study"], "generator": "score",
                  "tagger": "-".join(map(str, DEMO_TAGGER)), "data_home": data_home})
