"""An offline synthetic study with the structure of ds003720 and a known ground truth."""

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.signal import lfilter
from scipy.stats import gamma
from sklearn.utils import Bunch

from .._batches import release_pages
from ..preprocessing import preprocess_run
from . import _anatomy
from ._audio import CLIP_DURATION, SAMPLE_RATE
from ._base import cache_key, cached, get_data_home
from ._captions import make_captions
from ._events import TR, assemble_runs, test_layout, training_layout
from ._music import (
    GENRES,
    INSTRUMENTS,
    MOODS,
    ORCHESTRA,
    PERCUSSION,
    check_world,
    draw_clip,
    render_clips,
)

# Bump when the generator changes, so that caches of older versions are not reused.
_VERSION = 4

SCALES = {
    # ~25 s on one core (most of it rendering 470 clips); 240 training clips, 30 test
    # clips heard 4 times, 4,000 cortical voxels (5.8 mm grid), a 200-clip retrieval corpus.
    "small": {"n_train_runs": 6, "n_test_runs": 3, "n_voxels": 4000, "n_corpus": 200},
    # The ds003720 design: 480 training clips in 12 runs, 60 test clips in 6 runs heard 4
    # times, 60,000 cortical voxels (2.3 mm grid; the paper's subjects have 53,421-64,700),
    # 2,000 corpus clips.
    "paper": {"n_train_runs": 12, "n_test_runs": 6, "n_voxels": 60000, "n_corpus": 2000},
}
CLIPS_PER_RUN = 40
# Clips rendered per task while a study is built (a few chunks of audio in memory at once).
_RENDER_CHUNK = 32
TEST_CLIPS_PER_RUN = 10
N_REPEATS = 4
N_BANDS = 8
_ROLES = {"train": 0, "test": 1, "corpus": 2}
_INSTRUMENT_CLASSES = sorted(
    {cls for cls, _ in INSTRUMENTS.values()} | {PERCUSSION, ORCHESTRA}
)
_BAND_EDGES = np.geomspace(50.0, SAMPLE_RATE / 2, N_BANDS + 1)


def _canonical_hrf(tr, duration=32.0):
    """SPM's double-gamma haemodynamic response sampled every ``tr`` seconds (peak ~5 s)."""
    t = np.arange(0.0, duration, tr)
    hrf = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6.0
    return hrf / hrf.sum()


def _acoustic_features(audio, sample_rate=SAMPLE_RATE, tr=TR):
    """Per scan: log energies in ``N_BANDS`` log-spaced bands and the onset strength.

    Returns float32 ``(n_clips, n_scans, N_BANDS + 1)``.
    """
    n_fft, hop = 2048, 1024
    window = np.hanning(n_fft).astype(np.float32)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = np.clip(np.searchsorted(_BAND_EDGES, freqs) - 1, 0, N_BANDS - 1)
    n_scans = int(round(CLIP_DURATION / tr))
    features = np.empty((len(audio), n_scans, N_BANDS + 1), np.float32)
    for i, clip in enumerate(audio):
        frames = np.lib.stride_tricks.sliding_window_view(np.asarray(clip), n_fft)[::hop]
        power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
        energy = np.stack([power[:, band == b].mean(axis=1) for b in range(N_BANDS)], axis=1)
        log_energy = np.log(energy + 1e-10)
        flux = np.concatenate([[0.0], np.maximum(np.diff(log_energy, axis=0), 0).sum(axis=1)])
        scan_of_frame = np.minimum((np.arange(len(frames)) * hop / sample_rate / tr).astype(int),
                                   n_scans - 1)
        for scan in range(n_scans):
            in_scan = scan_of_frame == scan
            features[i, scan, :N_BANDS] = log_energy[in_scan].mean(axis=0)
            features[i, scan, N_BANDS] = flux[in_scan].mean()
    return features


def _semantic_features(clips):
    """Per clip: genre one-hot, instrument and mood saliences, tempo and mode."""
    n_sem = len(GENRES) + len(_INSTRUMENT_CLASSES) + len(MOODS) + 2
    semantic = np.zeros((len(clips), n_sem), np.float32)
    for i, clip in enumerate(clips):
        semantic[i, GENRES.index(clip["genre"])] = 1.0
        offset = len(GENRES)
        for rank, cls in enumerate(clip["instruments"]):
            semantic[i, offset + _INSTRUMENT_CLASSES.index(cls)] = 1.0 / (rank + 1)
        offset += len(_INSTRUMENT_CLASSES)
        for rank, mood in enumerate(clip["moods"]):
            semantic[i, offset + MOODS.index(mood)] = 0.5**rank
        semantic[i, -2] = (clip["tempo"] - 115.0) / 35.0
        semantic[i, -1] = float(clip["major"])
    return semantic


def _clip_table(clips, ids):
    return pd.DataFrame({
        "clip_id": ids,
        "genre": [c["genre"] for c in clips],
        "instruments": [c["instruments"] for c in clips],
        "moods": [c["moods"] for c in clips],
        "genres": [c["genres"] for c in clips],
        "tempo": [c["tempo"] for c in clips],
        "major": [c["major"] for c in clips],
        "key": [c["key"] for c in clips],
        "programs": [c["programs"] for c in clips],
        "density": [c["density"] for c in clips],
    })


def _render_into(target, clips, n_jobs):
    """Render ``clips`` into ``target`` (a memory-mapped cache array) chunk by chunk, each
    written and let go of before the next, so the build holds a few chunks of audio, never
    all of it. Every clip is rendered on its own (see :func:`render_clips`), so the audio
    does not depend on the chunks or on ``n_jobs``."""
    chunks = np.array_split(np.arange(len(clips)), max(1, -(-len(clips) // _RENDER_CHUNK)))
    rendered = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(render_clips)([clips[i] for i in chunk]) for chunk in chunks)
    for chunk, audio in zip(chunks, rendered):
        target[chunk] = audio
        release_pages(target)


def _build_stimuli(store, params, n_jobs):
    seed = params["random_state"]
    rng = np.random.default_rng([seed, 7])
    n_train = params["n_train_runs"] * CLIPS_PER_RUN
    genres = {
        "train": list(rng.permutation(np.resize(np.array(GENRES), n_train))),
        "test": [g for _ in range(params["n_test_runs"]) for g in rng.permutation(GENRES)],
        "corpus": list(rng.choice(GENRES, params["n_corpus"])),
    }
    tracks = dict.fromkeys(GENRES, 0)
    n_samples = int(round(CLIP_DURATION * SAMPLE_RATE))
    for role, role_genres in genres.items():
        clips = [
            draw_clip(str(g), np.random.default_rng([seed, _ROLES[role], i]), params["world"])
            for i, g in enumerate(role_genres)
        ]
        if role == "corpus":
            ids = [f"corpus.{i:06d}" for i in range(len(clips))]
        else:
            ids = []
            for clip in clips:
                ids.append(f"{clip['genre']}.{tracks[clip['genre']]:05d}")
                tracks[clip["genre"]] += 1
        audio = store.empty(f"audio_{role}", (len(clips), n_samples))
        _render_into(audio, clips, n_jobs)
        store.objects[f"clips_{role}"] = _clip_table(clips, ids)
        store.objects[f"captions_{role}"] = make_captions(clips, seed + 100 * _ROLES[role])
        if role != "corpus":
            store.put(f"acoustic_{role}", _acoustic_features(audio))
            store.put(f"semantic_{role}", _semantic_features(clips))
            release_pages(audio)


def _events_frame(table, rows):
    frame = table.iloc[rows].reset_index(drop=True)
    return pd.DataFrame({
        "onset": np.arange(len(rows)) * CLIP_DURATION,
        "duration": CLIP_DURATION,
        "genre": frame.genre,
        "track": [int(c.split(".")[1]) for c in frame.clip_id],
        "start": 0.0,
        "end": CLIP_DURATION,
        "clip_id": frame.clip_id,
    })


class _Brain:
    """One simulated subject: ROI layout, informative ROIs and their encoding weights."""

    def __init__(self, stimuli, params, coords):
        rng = np.random.default_rng([params["random_state"], 1000 + params["subject"]])
        self.roi_labels = _anatomy.parcellate(coords, rng)
        labels = np.unique(self.roi_labels)
        self.roi_index = np.searchsorted(labels, self.roi_labels)
        candidates = np.intersect1d(_anatomy.auditory_cortex_parcels(), labels)
        if candidates.size < params["n_informative_rois"]:
            raise ValueError(
                f"n_voxels={params['n_voxels']} gives so coarse a grid that only "
                f"{candidates.size} auditory-cortex parcels hold voxels, fewer than "
                f"n_informative_rois={params['n_informative_rois']}; use more voxels "
                "(600 or more) or fewer informative ROIs."
            )
        self.informative = rng.choice(candidates, params["n_informative_rois"], replace=False)
        self.snr = np.geomspace(params["snr_max"], params["snr_min"], len(self.informative))
        # Features: standardised acoustic (per scan) then semantic (per clip) columns.
        acoustic = np.concatenate([stimuli["acoustic_train"], stimuli["acoustic_test"]])
        self.acoustic_mean = acoustic.mean(axis=(0, 1))
        self.acoustic_std = acoustic.std(axis=(0, 1)) + 1e-6
        semantic = np.concatenate([stimuli["semantic_train"], stimuli["semantic_test"]])
        self.semantic_mean = semantic.mean(axis=0)
        self.semantic_std = semantic.std(axis=0) + 1e-6
        n_acoustic, n_semantic = acoustic.shape[2], semantic.shape[1]
        self.hrf = _canonical_hrf(params["tr"])
        self.weights = {}
        for k, label in enumerate(self.informative):
            n_roi = int((self.roi_labels == label).sum())
            # Early auditory ROIs lean acoustic, later ones semantic; voxels of an ROI share
            # a low-rank tuning so that the ROI has a coherent representation.
            acoustic_share = 0.7 - 0.5 * k / max(1, len(self.informative) - 1)
            basis = rng.normal(size=(n_acoustic + n_semantic, 4))
            basis[:n_acoustic] *= np.sqrt(acoustic_share / n_acoustic)
            basis[n_acoustic:] *= np.sqrt((1 - acoustic_share) / n_semantic)
            loadings = rng.normal(size=(4, n_roi))
            noise = rng.normal(size=(basis.shape[0], n_roi)) * basis.std(axis=1, keepdims=True)
            noise *= 0.3
            self.weights[label] = (basis @ loadings + noise).astype(np.float32)
        self.signal_scale = None

    def features(self, stimuli, role, rows):
        acoustic = (stimuli[f"acoustic_{role}"][rows] - self.acoustic_mean) / self.acoustic_std
        semantic = (stimuli[f"semantic_{role}"][rows] - self.semantic_mean) / self.semantic_std
        n_scans = acoustic.shape[1]
        run = np.concatenate(
            [acoustic, np.repeat(semantic[:, None, :], n_scans, axis=1)], axis=2
        ).reshape(len(rows) * n_scans, -1)
        return lfilter(self.hrf, [1.0], run, axis=0)

    def calibrate(self, feature_runs):
        """Scale every informative voxel's signal to unit variance over the training runs."""
        stacked = np.concatenate(feature_runs)
        self.signal_scale = {
            label: 1.0 / ((stacked @ w).std(axis=0) + 1e-6) for label, w in self.weights.items()
        }

    def run(self, features, rng):
        """Raw scans ``(n_run_scans, n_voxels)`` of one run: signal, noise, drift, baseline."""
        n_run, n_voxels = features.shape[0], self.roi_labels.size
        rho = 0.4
        white = rng.standard_normal((n_run, n_voxels), dtype=np.float32)
        voxel_noise = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], white, axis=0)
        # Noise shared by the voxels of an ROI makes neighbouring voxels correlated.
        roi_noise = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho],
                            rng.standard_normal((n_run, self.roi_index.max() + 1)), axis=0)
        data = (0.8 * voxel_noise + 0.6 * roi_noise[:, self.roi_index]).astype(np.float32)
        for label, snr in zip(self.informative, self.snr):
            voxels = np.flatnonzero(self.roi_labels == label)
            signal = features @ self.weights[label] * self.signal_scale[label]
            data[:, voxels] += (np.sqrt(snr) * signal).astype(np.float32)
        t = np.arange(n_run)[:, None] * TR
        periods = rng.uniform(150.0, 600.0, (1, 3))
        phases = rng.uniform(0, 2 * np.pi, (1, 3))
        basis = np.concatenate([t / t[-1], np.cos(2 * np.pi * t / periods + phases)], axis=1)
        data += (basis @ rng.normal(0.0, 1.5, (basis.shape[1], n_voxels))).astype(np.float32)
        gain = rng.uniform(5.0, 15.0, n_voxels).astype(np.float32)
        return 500.0 + 100.0 * rng.random(n_voxels, dtype=np.float32) + gain * data


def _preprocessed_run(brain, features, seed, tr):
    """One run's raw scans (:meth:`_Brain.run`) preprocessed like real data."""
    return preprocess_run(brain.run(features, np.random.default_rng(seed)), tr=tr)


def _build_subject(store, stimuli, objects, params, n_jobs):
    grid = _anatomy.cortical_grid(params["n_voxels"])
    brain = _Brain(stimuli, params, grid["coords"])
    train_layouts = training_layout(params["n_train_runs"], CLIPS_PER_RUN)
    test_layouts = test_layout(params["n_test_runs"], TEST_CLIPS_PER_RUN, N_REPEATS)
    train_features = [brain.features(stimuli, "train", rows) for rows in train_layouts]
    brain.calibrate(train_features)
    test_features = [brain.features(stimuli, "test", rows) for rows in test_layouts]
    features = {"train": train_features, "test": test_features}

    # Runs are simulated and preprocessed in parallel (each from its own seed, so the
    # result does not depend on n_jobs) and handed to assemble_runs in its reading order;
    # the generator keeps only a few runs in flight.
    order = [(task, position) for task in ("train", "test")
             for position in range(len(features[task]))]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_preprocessed_run)(
            brain, features[task][position],
            [params["random_state"], 1000 + params["subject"], _ROLES[task], position],
            params["tr"])
        for task, position in order)
    expected = iter(order)

    def load_run(task, position):
        if (task, position) != next(expected):
            raise RuntimeError(f"assemble_runs read run {task} {position} out of order.")
        return next(runs)

    result = assemble_runs(
        [(r + 1, _events_frame(objects["clips_train"], rows))
         for r, rows in enumerate(train_layouts)],
        [(r + 1, _events_frame(objects["clips_test"], rows))
         for r, rows in enumerate(test_layouts)],
        load_run, brain.roi_labels.size, store.empty, tr=params["tr"],
        clip_duration=CLIP_DURATION, n_trailing_scans=params["n_trailing_scans"],
    )
    store.put("roi_labels", brain.roi_labels)
    store.put("mask", grid["mask"])
    store.put("affine", grid["affine"])
    store.put("informative_rois", brain.informative)
    store.put("informative_snr", brain.snr)
    for name in ("clips_train", "clips_test", "dropped_clips"):
        store.objects[name] = result[name]


_DESCR = """Synthetic music-fMRI study (skbrainmusic.datasets.make_synthetic_study)
Scale {scale!r}, random_state={random_state}, subject {subject}.
Stimuli: {n_train} training and {n_test} test clips of 15 s at 22,050 Hz rendered from
genre-styled General MIDI scores (10 GTZAN genres), {n_corpus} retrieval corpus clips.
Runs as in ds003720: 41 clips a run, row 0 a dummy repeat (dropped), test clips heard
{n_repeats} times. Responses: {n_voxels} cortical voxels in MNI space (mask_img,
voxel_coords) in {n_rois} parcels; {n_informative} informative auditory-cortex parcels
(informative_rois, SNR informative_snr) encode HRF-convolved band energies, onsets and a
per-clip semantic latent (genre, instruments, mood); the others are noise. Run-wise median
detrending (240 s) and z-scoring as for real data.
{anatomy}
"""


def make_synthetic_study(scale="small", subject=1, random_state=0, *, n_corpus=None,
                         n_train_runs=None, n_test_runs=None, n_voxels=None,
                         n_trailing_scans=0, n_informative_rois=6, snr_max=1.0, snr_min=0.1,
                         world="default", data_home=None, cache=True, n_jobs=None):
    """Generate an offline music-fMRI study with a known ground truth.

    The study has the structure of the real one (:func:`load_nakai2022`), so estimators,
    examples and the CLI run unchanged on either. Music in ten genre styles (the GTZAN
    ten, differing in tempo, groove, harmony, instrumentation and mood) is rendered with
    real instrument samples (General MIDI soundfont ``TimGM6mb.sf2`` shipped by
    pretty_midi, through ``tinysoundfont``), cut to 15 s at 22,050 Hz with 2 s
    quarter-sine fades and RMS normalisation. Runs are laid out as in ds003720 (41 clips,
    the first a dummy repeat; test clips heard 4 times). Per-scan band energies and
    onsets plus a per-clip semantic latent (genre, instruments, mood) are convolved with
    a canonical HRF at TR 1.5 s (so responses spill into the next clip) and mapped by
    random weights into a few auditory-cortex ROIs with graded SNR; the other ROIs are
    noise; AR(1) and ROI-shared noise, drift and baselines are added; every run is then
    preprocessed like real data (:func:`skbrainmusic.preprocessing.preprocess_run`).

    The voxels are real anatomy: the cortical grey matter of the MNI152 template (ICBM
    2009a, Fonov et al. 2011) on a regular grid whose voxel size is chosen so that the
    cortex holds ``n_voxels`` voxels (5.8 mm for 4,000, 2.3 mm for 60,000): a coarser
    grid, not a random subset, so maps drawn from ``mask_img`` look like brains. The ROIs
    are the Voronoi cells of the cortex around the 239 cortical ROI centres of Seitzman et
    al. (2020), named after their functional network, hemisphere and ROI number (e.g.
    ``Auditory_L_075``); the informative ROIs are drawn from the 9 Auditory-network
    parcels of the superior temporal plane and gyrus (Heschl's gyrus, planum temporale,
    lateral superior temporal gyrus). Both sources ship with nilearn and are read
    offline.

    The stimuli (audio, captions, labels, corpus) depend on ``random_state`` only and are
    cached apart from the responses, so further subjects of a study are cheap; the brain
    (parcel boundaries: the centres move by 2 mm per axis; informative ROIs, weights,
    noise) differs per ``subject``.

    Parameters
    ----------
    scale : {"small", "paper"}, default="small"
        ``"small"``: 240 training clips (6 runs), 30 test clips (3 runs), 4,000 voxels,
        200 corpus clips; about 25 s on one core, most of it rendering audio, then cached.
        ``"paper"``: the ds003720 design, 480 training and 60 test clips, 60,000 voxels,
        2,000 corpus clips (a few minutes and about 4 GB on disk).
    subject : int, default=1
        Simulated subject (any positive int).
    random_state : int, default=0
        Seed of the stimuli and, with ``subject``, of the simulated brain.
    n_corpus : int, default=None
        Size of the retrieval corpus (FMA stand-in); ``None`` takes the scale's.
    n_train_runs, n_test_runs, n_voxels : int, default=None
        Override the scale's number of training runs (40 new clips each), test runs (10
        clips each, heard 4 times) and voxels. Grids of a few hundred voxels (12 mm and
        coarser) may leave fewer auditory-cortex parcels than ``n_informative_rois``, which
        raises a ``ValueError``; 600 voxels or more are safe.
    n_trailing_scans : int, default=0
        Scans kept after each clip's 10 (the haemodynamic response spills into the next
        clip); the last clip of a run gets zeros there, counted in ``n_padded_scans``.
    n_informative_rois : int, default=6
        Number of auditory-cortex ROIs that carry stimulus information (at most 8).
    snr_max, snr_min : float, default=1.0, 0.1
        Signal-to-noise variance ratio (per scan, one presentation) of the most and least
        informative ROI; the ROIs in between are spaced geometrically.
    world : {"default", "heldout"}, default="default"
        The music: ``"heldout"`` plays grooves, progressions, voicings and General MIDI
        programs that the default world never uses, through a recording channel (reverb,
        equaliser, +-30 cent detune), for evaluations that are not circular.
    data_home : str or path-like, default=None
        Cache folder root (see :func:`get_data_home`).
    cache : bool, default=True
        Store the study under ``data_home`` and reuse it. Cached arrays come back
        memory-mapped read-only. A corrupt cache is rebuilt with a warning.
    n_jobs : int, default=None
        Joblib workers rendering audio and simulating the subject's runs (``None``:
        joblib's current ``parallel_config``, e.g. the command line's ``--n-jobs``). Not
        part of the cache key: neither the audio nor the responses depend on it.

    Returns
    -------
    study : Bunch
        ``responses_train`` ``(n_train, n_scans, n_voxels)`` float32,
        ``responses_test`` ``(n_test, n_scans, n_voxels)`` (repeats averaged),
        ``responses_test_repeats`` ``(n_test, 4, n_scans, n_voxels)``,
        ``clips_train`` / ``clips_test`` (DataFrames: ``clip_id``, ``genre``, ``track``,
        ``start``, ``end``, ``run``, ``onset``, ``n_padded_scans``, ``instruments``,
        ``moods``, ``genres`` (AudioSet genre names), ``tempo``, ``major``, and the score's
        ``key`` (pitch class), ``programs`` (lead, harmony, bass) and ``density``),
        ``roi_labels`` ``(n_voxels,)`` parcel ids (Seitzman ROI numbers), ``roi_names``
        (label -> name), ``mask_img`` (nibabel image in MNI space whose non-zero voxels,
        in C order, are the responses' voxels), ``voxel_coords`` ``(n_voxels, 3)`` (MNI
        mm), ``space`` (``"MNI152NLin2009aSym"``), ``tr``, ``clip_duration``,
        ``subject``, ``audio_train`` / ``audio_test``
        ``(n, 330750)`` float32, ``sample_rate``, ``captions_train`` /
        ``captions_test`` (lists of str), ``instruments_train`` / ``instruments_test`` /
        ``moods_train`` / ``moods_test`` (per clip, ordered lists of AudioSet class names,
        most salient first), ``informative_rois`` (labels, most informative first),
        ``informative_snr``, ``corpus`` (Bunch: ``audio`` ``(n_corpus, 330750)``,
        ``clips`` DataFrame, ``captions``, ``sample_rate``), ``dropped_clips`` (the
        dummy clips), ``dropped_voxels`` (empty here), ``DESCR``.

    References
    ----------
    Fonov V. et al. (2011). Unbiased average age-appropriate atlases for pediatric
    studies. NeuroImage 54(1), 313-327.
    Seitzman B. A. et al. (2020). A set of functionally-defined brain regions with improved
    representation of the subcortex and cerebellum. NeuroImage 206, 116290.

    Examples
    --------
    >>> import tempfile
    >>> from skbrainmusic.datasets import make_synthetic_study
    >>> study = make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=600,
    ...                              n_corpus=2, data_home=tempfile.mkdtemp())
    >>> study.responses_train.shape, study.responses_test_repeats.shape
    ((40, 10, 600), (10, 4, 10, 600))
    >>> study.mask_img.shape, study.voxel_coords.shape
    ((15, 18, 16), (600, 3))
    >>> [study.roi_names[label] for label in study.informative_rois[:2]]
    ['Auditory_R_078', 'Auditory_L_072']
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}.")
    sizes = dict(SCALES[scale])
    for name, value in (("n_corpus", n_corpus), ("n_train_runs", n_train_runs),
                        ("n_test_runs", n_test_runs), ("n_voxels", n_voxels)):
        if value is not None:
            sizes[name] = value
    for name in ("n_train_runs", "n_test_runs", "n_voxels"):
        if not isinstance(sizes[name], (int, np.integer)) or sizes[name] < 1:
            raise ValueError(f"{name} must be a positive int; got {sizes[name]!r}.")
    if not isinstance(sizes["n_corpus"], (int, np.integer)) or sizes["n_corpus"] < 0:
        raise ValueError(f"n_corpus must be a non-negative int; got {sizes['n_corpus']!r}.")
    if not isinstance(subject, (int, np.integer)) or subject < 1:
        raise ValueError(f"subject must be a positive int; got {subject!r}.")
    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(
            "random_state must be a non-negative int (studies are cached by seed); "
            f"got {random_state!r}."
        )
    if not isinstance(n_trailing_scans, (int, np.integer)) or n_trailing_scans < 0:
        raise ValueError(f"n_trailing_scans must be a non-negative int; got {n_trailing_scans!r}.")
    if not 1 <= n_informative_rois <= 8:
        raise ValueError(f"n_informative_rois must be in 1..8; got {n_informative_rois!r}.")
    if not 0 < snr_min <= snr_max:
        raise ValueError(f"Need 0 < snr_min <= snr_max; got snr_min={snr_min}, snr_max={snr_max}.")

    stim_params = {
        "version": _VERSION, "random_state": int(random_state),
        "n_train_runs": int(sizes["n_train_runs"]), "n_test_runs": int(sizes["n_test_runs"]),
        "n_corpus": int(sizes["n_corpus"]), "sample_rate": SAMPLE_RATE,
        "world": check_world(world),
    }
    subject_params = {
        **stim_params, "subject": int(subject), "n_voxels": int(sizes["n_voxels"]),
        "n_trailing_scans": int(n_trailing_scans), "n_informative_rois": int(n_informative_rois),
        "snr_max": float(snr_max), "snr_min": float(snr_min), "tr": TR,
    }
    root = get_data_home(data_home) / "synthetic" if cache else None
    stim_folder = root / f"stimuli_{cache_key(stim_params)}" if cache else None
    stimuli, stim_objects = cached(
        stim_folder, lambda store: _build_stimuli(store, stim_params, n_jobs), cache
    )
    subject_folder = (
        root / f"subject-{subject}_{cache_key(subject_params)}" if cache else None
    )
    responses, objects = cached(
        subject_folder,
        lambda store: _build_subject(store, stimuli, stim_objects, subject_params, n_jobs),
        cache,
    )

    clips = {}
    for role in ("train", "test"):
        table = objects[f"clips_{role}"]
        labels = stim_objects[f"clips_{role}"]
        clips[role] = table.merge(
            labels.drop(columns="genre"), on="clip_id", how="left", validate="one_to_one"
        )
    names = _anatomy.seitzman_rois()["names"]
    roi_labels = np.asarray(responses["roi_labels"])
    mask_img = _anatomy.mask_image(responses["mask"], responses["affine"])
    voxel_coords = _anatomy.mask_coords(responses["mask"], responses["affine"])
    corpus_clips = stim_objects["clips_corpus"]
    return Bunch(
        responses_train=responses["responses_train"],
        responses_test=responses["responses_test"],
        responses_test_repeats=responses["responses_test_repeats"],
        clips_train=clips["train"],
        clips_test=clips["test"],
        roi_labels=roi_labels,
        roi_names={int(label): names[int(label)] for label in np.unique(roi_labels)},
        mask_img=mask_img,
        voxel_coords=voxel_coords,
        space=_anatomy.SPACE,
        tr=TR,
        clip_duration=CLIP_DURATION,
        subject=int(subject),
        audio_train=stimuli["audio_train"],
        audio_test=stimuli["audio_test"],
        sample_rate=SAMPLE_RATE,
        captions_train=list(stim_objects["captions_train"]),
        captions_test=list(stim_objects["captions_test"]),
        instruments_train=list(clips["train"].instruments),
        instruments_test=list(clips["test"].instruments),
        moods_train=list(clips["train"].moods),
        moods_test=list(clips["test"].moods),
        informative_rois=np.asarray(responses["informative_rois"]),
        informative_snr=np.asarray(responses["informative_snr"]),
        corpus=Bunch(
            audio=stimuli["audio_corpus"],
            clips=corpus_clips,
            captions=list(stim_objects["captions_corpus"]),
            sample_rate=SAMPLE_RATE,
        ),
        dropped_clips=objects["dropped_clips"],
        dropped_voxels=np.array([], dtype=int),
        DESCR=_DESCR.format(
            scale=scale, random_state=random_state, subject=subject,
            n_train=len(clips["train"]), n_test=len(clips["test"]),
            n_corpus=len(corpus_clips), n_repeats=N_REPEATS, n_voxels=roi_labels.size,
            n_rois=np.unique(roi_labels).size, n_informative=n_informative_rois,
            anatomy=_anatomy.DESCR.format(size=float(mask_img.header.get_zooms()[0]),
                                          jitter=_anatomy.CENTRE_JITTER_MM),
        ),
    )
