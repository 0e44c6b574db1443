"""Score-conditioned generation, judged honestly, on the synthetic study's two worlds.

For each world (``default``: the closed world whose music, brain latent and evaluation
embedding all speak the generator's language; ``heldout``: grooves, progressions, voicings
and General MIDI programs the default world never uses, through a recording channel), with
the study's own retrieval corpus:

1. Attribute estimators against the corpus' true score parameters: tempo (within 4%,
   counting octave errors), key, mode, instrument top-2 (a tagger fitted on the training
   stimuli), and a control (keys of shuffled clips: chance).
2. Identification accuracy of the test clips (librosa 10 s embedding, the MuLan-music
   analog, and 1.5 s log-mel, the low-level one; both standardised with the *training*
   stimuli's statistics) and genres top-2 agreement (a tagger on mel features fitted on the
   training stimuli, disjoint from the generator's corpus) for: retrieval, generation from
   the embedding predicted from fMRI (TemporalWindowAligner + ROIEnsembleRidge +
   CalibratedDecoder), oracle generation (true embeddings), oracle attributes (the true
   score parameters given to the composer), genre-only resynthesis (decoded genre, random
   piece), shuffled responses (chance: the mean of five shuffles, each generated with its
   own composer seed, with their spread, the identification of the shuffled decoders'
   embeddings themselves, and a permutation null of the generated clips' order).
   Within-genre identification beside it.
   The generator shrinks every decoded attribute towards its genre-conditional expectation
   by a weight chosen on out-of-fold predictions of the training clips; "no shrinkage" is
   the same generator without it.
3. Key decoded from fMRI (the simulated brain has no key signal: must be at chance 1/12),
   the no-collapse statistic (mean pairwise correlation of generated clips' evaluation
   features against the stimuli's), time to generate 30 clips and the fit's peak memory,
   with the spectrogram backend measured in the same run as the baseline.

``--speed`` instead times what an experiment does per subject after decoding, on 60 clips
(no study needed): rendering pieces from decoded attributes (``Composer.generate`` with a
tonal-balance envelope per piece, as ``ScoreBackend.generate`` calls it, and genre-only
resynthesis) and describing them with the demo's offline evaluation features (librosa 10 s,
log-mel 1.5 s, modulation 10 s, and the tagger's log-mel 10 s). "Before" is the same code with
faithful copies of the replaced functions patched in (librosa's STFT, numpy's pairwise
mean, ``np.clip`` on scalars, the filter bank rebuilt per call), timed in the same run, with
a check that both give the same bits.

Usage::

    PYTHONPATH=. python benchmarks/generation.py                 # both worlds, small scale
    PYTHONPATH=. python benchmarks/generation.py --worlds default --seed 1
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/generation.py --speed
"""

import argparse
import contextlib
import pickle
import time
import tracemalloc

import numpy as np
from _measure import best_time
from sklearn.base import clone
from sklearn.feature_selection import VarianceThreshold
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skbrainmusic import (
    AudioEmbedder,
    ConditionedGenerator,
    Corpus,
    EmbeddingRetriever,
    ROIEnsembleRidge,
    TemporalWindowAligner,
)
from skbrainmusic import composer as composer_module
from skbrainmusic.calibration import CalibratedDecoder
from skbrainmusic.composer import Composer, band_envelope
from skbrainmusic.datasets import _music, get_data_home, make_synthetic_study
from skbrainmusic.embeddings import _librosa
from skbrainmusic.generation._attributes import estimate_attributes
from skbrainmusic.generation._score import ScoreBackend
from skbrainmusic.metrics import identification_accuracy, top_n_agreement_batch
from skbrainmusic.ridge._split import check_clip_cv
from skbrainmusic.tagging import AudioTagger, top_n_agreement_score

EVALUATION = {"librosa-10s": ("librosa", 10.0), "mel-1.5s": ("mel", 1.5)}
MUSIC = "librosa-10s"
N_SHUFFLES = 5


class Standardised:
    """An audio embedding standardised with the training stimuli's statistics only."""

    def __init__(self, backend, window, sample_rate, cache):
        self.embedder = AudioEmbedder(backend=backend, window=window, step=1.5,
                                      sample_rate=sample_rate, clip_duration=15.0, cache=cache)
        self.scaler = make_pipeline(VarianceThreshold(), StandardScaler())

    def fit_transform(self, audio):
        raw = self.embedder.fit_transform(audio)
        self.scaler.fit(raw.reshape(-1, raw.shape[-1]))
        return self._scale(raw)

    def transform(self, audio):
        return self._scale(self.embedder.transform(audio))

    def _scale(self, raw):
        scaled = self.scaler.transform(raw.reshape(-1, raw.shape[-1]))
        return scaled.reshape(*raw.shape[:-1], scaled.shape[-1])


def labels_of(frame, with_genres=True):
    return [(list(g) if with_genres else []) + list(i) + list(m)
            for g, i, m in zip(frame["genres"], frame["instruments"], frame["moods"])]


def tempo_correct(estimated, true, tolerance=0.04, octaves=True):
    factors = (0.5, 1.0, 2.0) if octaves else (1.0,)
    error = np.min([np.abs(estimated / (true * f) - 1.0) for f in factors], axis=0)
    return error <= tolerance


def estimator_accuracy(study, tagger, seed):
    """Attribute estimators on the corpus against its true score parameters."""
    clips = study.corpus.clips
    audio = np.asarray(study.corpus.audio)
    start = time.perf_counter()
    estimated = estimate_attributes(audio, study.sample_rate, tagger=tagger)
    elapsed = time.perf_counter() - start
    true_tempo = clips.tempo.to_numpy()
    true_key = clips.key.to_numpy()
    true_major = clips.major.to_numpy().astype(bool)
    instrument_columns = [c for c in estimated.columns if c.startswith("instrument:")]
    names = [c.split(":", 1)[1] for c in instrument_columns]
    proba = estimated[instrument_columns].to_numpy()
    ranked = [[names[j] for j in np.argsort(-row)] for row in proba]
    shuffled = np.random.default_rng(seed).permutation(len(clips))
    return {
        "tempo within 4% (octave errors ok)": tempo_correct(estimated.tempo.to_numpy(),
                                                             true_tempo).mean(),
        "tempo within 4% (strict)": tempo_correct(estimated.tempo.to_numpy(), true_tempo,
                                                  octaves=False).mean(),
        "key (tonic)": np.mean(estimated.tonic.to_numpy() == true_key),
        "key and mode": np.mean((estimated.tonic.to_numpy() == true_key)
                                & (estimated.major.to_numpy() == true_major)),
        "mode": np.mean(estimated.major.to_numpy() == true_major),
        "key, shuffled clips (control, chance 0.083)": np.mean(
            estimated.tonic.to_numpy()[shuffled] == true_key),
        "instrument top-2 IoU": top_n_agreement_batch(list(clips.instruments), ranked,
                                                      2).mean(),
        "seconds per clip": elapsed / len(clips),
    }


def mean_pairwise_correlation(features):
    flat = features.mean(axis=1) if features.ndim == 3 else features
    corr = np.corrcoef(flat)
    return float(corr[np.triu_indices_from(corr, 1)].mean())


def decoder_of(study):
    return CalibratedDecoder(Pipeline([
        ("align", TemporalWindowAligner(window=10.0, step=1.5, tr=study.tr,
                                        clip_duration=study.clip_duration)),
        ("ridge", ROIEnsembleRidge(np.array(study.roi_labels), n_rois=6, cv=5)),
    ]), cv=5)


def oracle_attributes(clips):
    return [{"genre": row.genre, "tempo": float(row.tempo), "key": int(row.key),
             "mode": "major" if row.major else "minor", "programs": list(row.programs),
             "drums": "Percussion" in row.instruments, "density": float(row.density)}
            for row in clips.itertuples(index=False)]


def measure_fit(make, *args, **kwargs):
    tracemalloc.start()
    start = time.perf_counter()
    model = make().fit(*args, **kwargs)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return model, elapsed, peak


def run_world(world, args):
    print(f"\n=== world {world!r}: seed {args.seed}, subject {args.subject} ===", flush=True)
    study = make_synthetic_study("small", subject=args.subject, random_state=args.seed,
                                 world=world, data_home=args.data_home, n_jobs=1)
    rate = study.sample_rate
    cache = get_data_home(args.data_home) / "embedding_cache"
    corpus_audio = np.asarray(study.corpus.audio)
    test_genres = study.clips_test.genre.to_numpy()

    features, stimulus, corpus_eval = {}, {}, {}
    for key, (backend, window) in EVALUATION.items():
        features[key] = Standardised(backend, window, rate, cache)
        train = features[key].fit_transform(np.asarray(study.audio_train))
        stimulus[key] = features[key].transform(np.asarray(study.audio_test))
        corpus_eval[key] = features[key].transform(corpus_audio)
        if key == MUSIC:
            train_music = train
    print("embedded stimuli and corpus", flush=True)

    # The evaluation tagger: mel features, fitted on the training stimuli (disjoint from
    # the generator's corpus).
    mel_tagger = AudioTagger(embedder=AudioEmbedder(
        backend="mel", window=10.0, step=1.5, sample_rate=rate, clip_duration=15.0,
        cache=cache)).fit(np.asarray(study.audio_train), labels_of(study.clips_train),
                          sample_rate=rate)
    accuracy = estimator_accuracy(study, mel_tagger, args.seed)

    # The generator's own attribute tagger learns instrument and mood labels of its corpus.
    attribute_tagger = AudioTagger(embedder=AudioEmbedder(
        backend="librosa", window=10.0, step=1.5, sample_rate=rate, clip_duration=15.0,
        cache=cache)).fit(corpus_audio, labels_of(study.corpus.clips, with_genres=False),
                          sample_rate=rate)
    corpus_music = corpus_eval[MUSIC].mean(axis=1)
    decoder = decoder_of(study).fit(study.responses_train, train_music)
    predicted = decoder.predict(study.responses_test)
    # Out-of-fold calibrated predictions of the training clips: the generator's shrinkage
    # towards genre expectations is chosen on them (training data only).
    out_of_fold = cross_val_predict(clone(decoder.estimator), study.responses_train,
                                    train_music, cv=check_clip_cv(decoder.cv))
    out_of_fold = ((out_of_fold - decoder.oof_mean_) / decoder.oof_scale_
                   * decoder.target_scale_ + decoder.target_mean_)
    # Not clone(): it would hand an unfitted copy of the tagger to the variants.
    def make_backend(**params):
        return ScoreBackend(tagger=attribute_tagger, random_state=args.seed, **params)

    backend, fit_seconds, fit_peak = measure_fit(
        make_backend, corpus_music, corpus_audio, rate, labels=list(study.corpus.clips.genre),
        validation=(out_of_fold, np.asarray(study.audio_train)))
    unshrunk = make_backend().fit(corpus_music, corpus_audio, rate,
                                  labels=list(study.corpus.clips.genre))
    baseline, baseline_fit_seconds, baseline_peak = measure_fit(
        lambda: ConditionedGenerator("spectrogram", corpus=Corpus(
            corpus_music, audio=corpus_audio, sample_rate=rate), random_state=args.seed))
    print("fitted the generators", flush=True)

    # Shuffled responses: one shuffle is a noisy control (its decoder maps whole genres at
    # random: with 3 test clips a genre, its embeddings' own identification spreads far
    # wider than the permutation null), so five shuffles are averaged and their spread
    # reported.
    predicted_shuffled = []
    for shuffle in range(N_SHUFFLES):
        order = np.random.default_rng([args.seed, shuffle]).permutation(len(train_music))
        shuffled = decoder_of(study).fit(np.asarray(study.responses_train)[order], train_music)
        predicted_shuffled.append(shuffled.predict(study.responses_test))
    print("decoded fMRI", flush=True)

    retriever = EmbeddingRetriever({"embeddings": corpus_music,
                                    "ids": list(range(len(corpus_music)))}).fit()
    retrieved_rows = np.asarray(retriever.predict(predicted.mean(axis=1)), dtype=int)

    composer = Composer(sample_rate=rate, duration=corpus_audio.shape[1] / rate)
    decoded = backend.decode_attributes(predicted)
    timings = {}
    audio = {}
    start = time.perf_counter()
    audio["generation (fMRI)"] = backend.generate(predicted, random_state=args.seed)
    timings["score"] = time.perf_counter() - start
    audio["generation, no shrinkage"] = unshrunk.generate(predicted, random_state=args.seed)
    audio["generation, no equaliser"] = make_backend(equalise=False).fit(
        corpus_music, corpus_audio, rate, labels=list(study.corpus.clips.genre),
        validation=(out_of_fold, np.asarray(study.audio_train))).generate(
        predicted, random_state=args.seed)
    # True embeddings carry no decoding noise: the unshrunk generator.
    audio["oracle generation"] = unshrunk.generate(stimulus[MUSIC], random_state=args.seed)
    audio["oracle attributes"] = composer.generate(oracle_attributes(study.clips_test),
                                                   args.seed)
    audio["genre-only resynthesis"] = composer.generate(
        [{"genre": g} for g in decoded.genre], args.seed)
    for shuffle, shuffled in enumerate(predicted_shuffled):
        # Each shuffle with its own composer seed: with one seed, the pieces' free choices
        # would repeat from shuffle to shuffle and the shuffles would not be independent.
        audio[f"shuffled responses {shuffle}"] = backend.generate(
            shuffled, random_state=args.seed * 1000 + shuffle + 1)
    start = time.perf_counter()
    audio["spectrogram baseline (fMRI)"] = baseline.generate(predicted, random_state=args.seed)
    timings["spectrogram"] = time.perf_counter() - start

    stimulus_proba = mel_tagger.predict_proba(np.asarray(study.audio_test), sample_rate=rate)
    rows = {}
    evaluations = {"retrieval": ({k: v[retrieved_rows] for k, v in corpus_eval.items()},
                                 corpus_audio[retrieved_rows])}
    for name, waves in audio.items():
        evaluations[name] = ({k: f.transform(waves) for k, f in features.items()}, waves)
    for name, (evaluation, waves) in evaluations.items():
        proba = mel_tagger.predict_proba(waves, sample_rate=rate)
        rows[name] = {
            **{key: identification_accuracy(stimulus[key], evaluation[key])
               for key in EVALUATION},
            "within-genre": identification_accuracy(stimulus[MUSIC], evaluation[MUSIC],
                                                    groups=test_genres),
            "genres top-2": top_n_agreement_score(stimulus_proba, proba,
                                                  classes=mel_tagger.classes_,
                                                  group="genres"),
            "pairwise corr": mean_pairwise_correlation(evaluation[MUSIC]),
        }
    shuffles = [rows.pop(f"shuffled responses {k}") for k in range(N_SHUFFLES)]
    rows["shuffled responses (mean)"] = {key: float(np.mean([r[key] for r in shuffles]))
                                         for key in shuffles[0]}
    spread = {key: float(np.std([r[key] for r in shuffles])) for key in EVALUATION}
    # Permutation null of the generated clips' order: the chance level of the evaluation.
    generated = features[MUSIC].transform(audio["generation (fMRI)"])
    rng = np.random.default_rng(args.seed)
    null = [identification_accuracy(stimulus[MUSIC], generated[rng.permutation(len(generated))])
            for _ in range(200)]
    true_keys = study.clips_test.key.to_numpy()
    keys = {
        "key from fMRI (chance 0.083)": np.mean(decoded.tonic.to_numpy() == true_keys),
        "key from true embedding": np.mean(
            backend.decode_attributes(stimulus[MUSIC]).tonic.to_numpy() == true_keys),
        "mode from fMRI": np.mean((decoded["mode"] == "major").to_numpy()
                                  == study.clips_test.major.to_numpy()),
        "genre from fMRI": np.mean(decoded.genre.to_numpy() == test_genres),
    }
    stimuli_corr = mean_pairwise_correlation(stimulus[MUSIC])
    n_test = len(test_genres)
    return {
        "world": world, "rows": rows, "accuracy": accuracy, "keys": keys,
        "stimuli_corr": stimuli_corr,
        "chance": {"shuffles sd (librosa-10s)": spread[MUSIC],
                   "shuffles sd (mel-1.5s)": spread["mel-1.5s"],
                   "shuffles (librosa-10s)": [r[MUSIC] for r in shuffles],
                   "shuffled decoders' embeddings": [
                       identification_accuracy(stimulus[MUSIC], p) for p in predicted_shuffled],
                   "permutation null mean": float(np.mean(null)),
                   "permutation null sd": float(np.std(null))},
        # One weight per attribute group (chroma_0..11 share one, ...).
        "shrinkage": {name.split(":")[0].split("_")[0]: float(weight) for name, weight in
                      zip(backend.target_names_, backend.shrinkage_.round(2))},
        "speed": {"score s / 30 clips": timings["score"] * 30 / n_test,
                  "spectrogram s / 30 clips": timings["spectrogram"] * 30 / n_test,
                  "score fit s": fit_seconds, "spectrogram fit s": baseline_fit_seconds,
                  "score fit peak MB": fit_peak / 2**20,
                  "spectrogram fit peak MB": baseline_peak / 2**20,
                  "score fitted size kB": len(pickle.dumps(backend)) / 2**10},
        "example": decoded.iloc[0].to_dict(),
        "example_true": study.clips_test.iloc[0][["genre", "tempo", "key", "major",
                                                  "instruments"]].to_dict(),
    }


def report(result):
    print(f"\n--- world {result['world']!r} ---")
    print("Attribute estimators on the corpus (true score parameters):")
    for name, value in result["accuracy"].items():
        print(f"  {name:48s} {value:.3f}")
    header = (f"{'':30s} {'librosa-10s':>12s} {'mel-1.5s':>9s} {'within-genre':>13s} "
              f"{'genres top-2':>13s} {'pairwise r':>11s}")
    print(header)
    for name, row in result["rows"].items():
        print(f"{name:30s} {row['librosa-10s']:12.3f} {row['mel-1.5s']:9.3f} "
              f"{row['within-genre']:13.3f} {row['genres top-2']:13.3f} "
              f"{row['pairwise corr']:11.3f}")
    print(f"{'stimuli':30s} {'':12s} {'':9s} {'':13s} {'':13s} {result['stimuli_corr']:11.3f}")
    for name, value in result["keys"].items():
        print(f"  {name:48s} {value:.3f}")
    for name, value in result["chance"].items():
        print(f"  {name:48s} {np.round(value, 3)}")
    print(f"  shrinkage weights: {result['shrinkage']}")
    speed = result["speed"]
    for name, value in speed.items():
        print(f"  {name:48s} {value:.2f}")
    print(f"  speed ratio score / spectrogram: "
          f"{speed['score s / 30 clips'] / speed['spectrogram s / 30 clips']:.2f}")
    print(f"  example decoded: {result['example']}")
    print(f"  example true:    {result['example_true']}")


def targets(result):
    rows = result["rows"]
    generation, retrieval = rows["generation (fMRI)"], rows["retrieval"]
    checks = []
    if result["world"] == "default":
        checks += [
            ("generation >= retrieval - 0.05", generation[MUSIC], retrieval[MUSIC] - 0.05),
            ("generation >= 0.70", generation[MUSIC], 0.70),
            ("genres top-2 >= retrieval's - 0.10", generation["genres top-2"],
             retrieval["genres top-2"] - 0.10),
            ("oracle attributes >= 0.95", rows["oracle attributes"][MUSIC], 0.95),
        ]
    else:
        for key in EVALUATION:
            checks.append((f"generation >= retrieval - 0.10 ({key})", generation[key],
                           retrieval[key] - 0.10))
    checks += [
        ("generation > genre-only resynthesis", generation[MUSIC],
         rows["genre-only resynthesis"][MUSIC] + 1e-9),
        ("no collapse: pairwise r <= stimuli + 0.2", -generation["pairwise corr"],
         -(result["stimuli_corr"] + 0.2)),
        ("30 clips <= 10 s", -result["speed"]["score s / 30 clips"], -10.0),
    ]
    print("Targets:")
    for name, value, bound in checks:
        print(f"  {'met ' if value >= bound else 'MISS'} {name}: {abs(value):.3f} vs "
              f"{abs(bound):.3f}")


def _librosa_stft_power(clips, n_fft, hop_length, *, center=False):
    import librosa

    return np.abs(librosa.stft(clips, n_fft=n_fft, hop_length=hop_length, center=center)) ** 2


def _uncached_band_filters(sample_rate, n_bands):
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=composer_module._BAND_N_FFT,
                               n_mels=n_bands, fmax=sample_rate / 2.0)


@contextlib.contextmanager
def previous_code():
    """The rendering and description code as it was: the replaced functions' old bodies."""
    replaced = [(_librosa, "stft_power", _librosa_stft_power),
                (_music, "_mono", lambda stereo: stereo.reshape(-1, 2).mean(axis=1)),
                (composer_module, "_clamp", lambda value, low, high: int(np.clip(value, low,
                                                                                 high))),
                (composer_module, "_band_filters", _uncached_band_filters)]
    kept = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    try:
        for module, name, function in replaced:
            setattr(module, name, function)
        yield
    finally:
        for module, name, function in kept:
            setattr(module, name, function)


def speed(n_clips, repeats, seed):
    """Seconds (CPU, best of ``repeats``) to render and describe ``n_clips`` clips, before and
    after, and whether both give the same bits."""
    rate = 22050
    composer = Composer(sample_rate=rate, duration=15.0, fade=2.0)
    genres = list(composer_module.GENRE_FAMILIES)[:10]
    rng = np.random.default_rng(seed)
    genre_only = [{"genre": genres[k % len(genres)]} for k in range(n_clips)]
    # Decoded-like attributes: a genre distribution, tempo, key, density, loudness and the
    # 64-band tonal balance of another piece, shifted by a few dB.
    envelopes = band_envelope(composer.generate(genre_only[::-1], seed), rate, 64)
    decoded = [{"genre": {genres[k % 10]: 0.7, genres[(k + 3) % 10]: 0.3},
                "tempo": float(rng.uniform(70, 170)), "key": int(rng.integers(12)),
                "mode": "minor" if k % 3 else "major", "density": float(rng.uniform(0.2, 0.8)),
                "loudness": float(rng.uniform(0.02, 0.1)),
                "envelope": envelopes[k] + rng.normal(0.0, 3.0, 64)} for k in range(n_clips)]
    embedders = [AudioEmbedder(backend=backend, window=window, sample_rate=rate,
                               clip_duration=15.0, standardize=False)
                 for backend, window in (("librosa", 10.0), ("mel", 1.5),
                                         ("modulation", 10.0), ("mel", 10.0))]
    steps = {
        "generate (decoded attributes)": lambda: [composer.generate(decoded, seed)],
        "generate (genre only)": lambda: [composer.generate(genre_only, seed)],
    }
    audio = steps["generate (decoded attributes)"]()[0]
    steps["describe (4 offline embeddings)"] = lambda: [e.transform(audio) for e in embedders]
    rows = {}
    for name, step in steps.items():
        with previous_code():
            before_seconds = best_time(step, repeats, clock=time.process_time)
            before = step()
        after_seconds = best_time(step, repeats, clock=time.process_time)
        after = step()
        same = all(np.array_equal(a, b) for a, b in zip(before, after))
        rows[name] = (before_seconds, after_seconds, same)
    return rows


def report_speed(rows, n_clips):
    print(f"CPU seconds for {n_clips} clips (best of the repeats), before -> after:")
    total_before = total_after = 0.0
    for name, (before, after, same) in rows.items():
        total_before, total_after = total_before + before, total_after + after
        print(f"  {name:34s} {before:7.2f} -> {after:6.2f}  ratio {after / before:.2f}  "
              f"same bits: {same}")
    print(f"  {'total':34s} {total_before:7.2f} -> {total_after:6.2f}  ratio "
          f"{total_after / total_before:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worlds", nargs="+", default=["default", "heldout"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subject", type=int, default=1)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--speed", action="store_true",
                        help="time rendering and description before and after (see above)")
    parser.add_argument("--clips", type=int, default=60, help="clips of --speed")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of --speed")
    args = parser.parse_args()
    if args.speed:
        report_speed(speed(args.clips, args.repeats, args.seed), args.clips)
        return
    for world in args.worlds:
        result = run_world(world, args)
        report(result)
        targets(result)


if __name__ == "__main__":
    main()
