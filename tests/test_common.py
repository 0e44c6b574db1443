"""scikit-learn conformance of every public estimator of skbrainmusic.

Estimators are discovered from ``skbrainmusic.__all__``, so the harness grows as estimators
land. Constructors that need arguments get instances from ``_estimator_instances.INSTANCES``;
each expected failure carries a written reason in ``EXPECTED_FAILED_CHECKS``.

The estimators whose input is audio or text, which sklearn's checks cannot feed, run the
replacement suite of ``_audio_estimator_checks.py`` on the cases of :func:`_audio_cases`;
every sklearn check they skip names its replacement there.
"""

import inspect

import numpy as np
import pytest
from _audio_estimator_checks import (
    AudioCase,
    applicable_checks,
    replacement,
    sklearn_checks_not_run,
)
from _estimator_instances import EXPECTED_FAILED_CHECKS, INSTANCES
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skbrainmusic
from skbrainmusic import (
    AudioEmbedder,
    AudioTagger,
    CaptionEmbedder,
    ConditionedGenerator,
    Corpus,
)
from skbrainmusic.generation import SpectrogramBackend


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


# --- estimators of audio or text: the replacement suite ----------------------------------

SAMPLE_RATE = 8000


def _tones(n_clips, seed, seconds=2.0):
    """Noisy tones of random pitch and loudness, float32 ``(n_clips, n_samples)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = rng.uniform(200.0, 1200.0, n_clips)[:, np.newaxis]
    gain = np.linspace(0.1, 1.0, n_clips)[rng.permutation(n_clips), np.newaxis]
    audio = gain * np.sin(2 * np.pi * pitch * t) + 0.05 * rng.standard_normal((n_clips, t.size))
    return audio.astype(np.float32)


def _invalid_arrays(valid):
    """Inputs every array-taking output method must refuse with a ValueError."""
    nan, inf = valid.copy(), valid.copy()
    nan[0, 0], inf[-1, -1] = np.nan, np.inf
    return [(nan, ValueError), (inf, ValueError), (valid.astype(np.complex64), ValueError),
            (valid[:0], ValueError)]


def _audio_cases():
    fit_audio, audio = _tones(6, seed=0), _tones(4, seed=1)
    too_short = (audio[:, :100], ValueError)  # shorter than one window
    one_clip_1d = (audio[0], ValueError)  # AudioEmbedder wants audio[np.newaxis]
    geometry = {"window": 1.0, "step": 0.5, "sample_rate": SAMPLE_RATE}
    loud = fit_audio.std(axis=1) > np.median(fit_audio.std(axis=1))
    labels = [["Exciting music"] if is_loud else ["Tender music"] for is_loud in loud]
    fit_texts = ["calm piano with soft strings", "loud distorted guitars and drums",
                 "a slow jazz trio with brushed drums", "upbeat disco with a funky bass",
                 "a sad violin over a quiet piano", "fast punk drums and shouted vocals",
                 "a choir singing over an organ", "reggae guitar with a deep bass"]
    texts = ["soft piano and strings", "distorted guitar drums", "jazz bass", "a quiet organ"]
    embeddings = np.random.default_rng(2).standard_normal((6, 5))
    generator = ConditionedGenerator(
        SpectrogramBackend(n_iter=4, hop_length=512),
        corpus=Corpus(embeddings, audio=fit_audio, sample_rate=SAMPLE_RATE), random_state=0)
    generator_failures = EXPECTED_FAILED_CHECKS[ConditionedGenerator](generator)
    return [
        AudioCase(AudioEmbedder(**geometry), fit_args=(fit_audio,), inputs=audio,
                  invalid_inputs=_invalid_arrays(audio) + [too_short, one_clip_1d]),
        AudioCase(AudioEmbedder(backend="mel", standardize=False, **geometry),
                  fit_args=(fit_audio,), inputs=audio,
                  invalid_inputs=_invalid_arrays(audio) + [too_short, one_clip_1d]),
        AudioCase(CaptionEmbedder(n_components=3, random_state=0), fit_args=(fit_texts,),
                  inputs=texts,
                  invalid_inputs=[([], ValueError), (["fine", None], TypeError),
                                  ("one caption", TypeError),
                                  (np.array([texts, texts]), ValueError)],
                  replacements={
                      "check_fit2d_1feature": "not applicable: texts have no feature axis",
                  }),
        AudioCase(AudioTagger(embedder=AudioEmbedder(backend="mel", window=0.5, step=0.5)),
                  fit_args=(fit_audio, labels), fit_kwargs={"sample_rate": SAMPLE_RATE},
                  inputs=audio, method="predict_proba",
                  method_kwargs={"sample_rate": SAMPLE_RATE},
                  invalid_inputs=_invalid_arrays(audio) + [too_short],
                  replacements={
                      "check_fit2d_predict1d": ("not applicable: a 1-D waveform is one clip "
                                                "by design (tagging.check_audio)"),
                  }),
        # Its input is embeddings (sklearn's checks run on it, see _estimator_instances.py);
        # its output is audio, which the suite checks (batch dependence: Griffin-Lim draws
        # its seeds clip after clip).
        AudioCase(generator, fit_args=(), inputs=embeddings[:4] + 0.1, method="predict",
                  n_features=5,
                  invalid_inputs=_invalid_arrays(embeddings[:4]) + [(embeddings[0], ValueError)],
                  batch_independent=False, expected_failed=tuple(generator_failures),
                  replacements={check: f"not applicable: {reason}"
                                for check, reason in generator_failures.items()}),
    ]


AUDIO_CASES = _audio_cases()


def test_every_audio_or_text_estimator_has_a_case():
    from sklearn.utils import get_tags

    audio_input = {type(estimator) for estimator in _instances()
                   if not get_tags(estimator).input_tags.two_d_array}
    assert audio_input == {AudioEmbedder, CaptionEmbedder, AudioTagger}
    assert {type(case.estimator) for case in AUDIO_CASES} == audio_input | {ConditionedGenerator}


@pytest.mark.parametrize("case", AUDIO_CASES, ids=AudioCase.id)
def test_skipped_sklearn_checks_name_their_replacement(case):
    suite = {check.__name__ for check in applicable_checks(case)}
    not_run = sklearn_checks_not_run(case)
    assert not_run
    for sklearn_check in sorted(not_run):
        named = replacement(case, sklearn_check)
        assert named is not None, f"{sklearn_check} is skipped without a replacement"
        if not named.startswith("not applicable: "):
            assert named in suite, f"{sklearn_check}: {named} does not run on this estimator"


@pytest.mark.parametrize(
    ("case", "check"),
    [(case, check) for case in AUDIO_CASES for check in applicable_checks(case)],
    ids=lambda value: value.__name__ if callable(value) else AudioCase.id(value),
)
def test_audio_estimator(case, check):
    check(case)
