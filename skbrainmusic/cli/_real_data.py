"""Loading one ds003720 subject and its stimuli for ``decode`` and ``encode``.

Every path is checked before any work starts, and the loaders' own errors (a subject not in
the data set, a missing GTZAN track, a mask on another grid ...) become one-line
:class:`CLIError` messages.
"""

from pathlib import Path

import numpy as np

from ._common import CLIError, Progress, existing_path, prepare_out_dir

# Decoded audio embedding per --embedding: (window in s, Table A.2 counterpart).
AUDIO_EMBEDDINGS = {
    "librosa": (10.0, "MuLan music (offline analog)"),
    "mel": (1.5, "mel spectrogram (A.1.9)"),
    "clap": (10.0, "MuLan music (CLAP)"),
    "encodec": (1.5, "SoundStream-avg (EnCodec)"),
    "w2v-bert": (5.0, "w2v-BERT-avg"),
    "wav2vec2": (10.0, "wav2vec 2.0 (A.1.9)"),
    "hubert": (10.0, "HuBERT (A.1.9)"),
}
_MODEL_BACKENDS = {"clap", "encodec", "w2v-bert", "wav2vec2", "hubert"}
_AUDIO_SUFFIXES = {".wav", ".mp3", ".au", ".flac", ".ogg"}


def start_run(args, folders):
    """Check the paths of ``decode``/``encode`` and prepare ``--out`` with ``folders``.

    Returns
    -------
    progress : Progress
    paths : dict of str to Path or None
        See :func:`check_paths`.
    out : Path
    """
    progress = Progress(quiet=args.quiet)
    paths = check_paths(args)
    out = prepare_out_dir(args.out)
    for folder in folders:
        (out / folder).mkdir(exist_ok=True)
    return progress, paths, out


def check_paths(args):
    """Validate the path options of ``decode``/``encode``; return them as Paths (or None)."""
    paths = {
        "bids": existing_path(args.bids, "--bids", kind="dir"),
        "gtzan": existing_path(args.gtzan, "--gtzan", kind="dir"),
        "preprocessed": None, "fmriprep": None, "mask": None, "atlas": None, "captions": None,
        "corpus": None, "model": None, "generator_model": None, "tagger_model": None,
    }
    for name, kind in (("preprocessed", "dir"), ("fmriprep", "dir"), ("mask", "file"),
                       ("atlas", "file"), ("captions", "file"), ("corpus", "dir")):
        value = getattr(args, name, None)
        if value is not None:
            paths[name] = existing_path(value, f"--{name}", kind=kind)
    if args.preprocessed is not None and (args.mask is not None or args.atlas is not None):
        raise CLIError("--mask and --atlas apply to the NIfTI runs (raw or --fmriprep), not to "
                       "--preprocessed arrays (they have no voxel coordinates).")
    if args.preprocessed is not None and args.fmriprep is not None:
        raise CLIError("--fmriprep and --preprocessed are two sources of responses; give one.")
    if args.delay < 0:
        raise CLIError(f"--delay must be 0 or more seconds, got {args.delay:g}.")
    if args.model is not None:
        if args.embedding not in _MODEL_BACKENDS:
            backends = ", ".join(sorted(_MODEL_BACKENDS))
            raise CLIError(f"--model is for the model embeddings ({backends}), not "
                           f"--embedding {args.embedding}.")
        paths["model"] = existing_path(args.model, "--model", kind="dir")
    elif args.embedding in _MODEL_BACKENDS:
        raise CLIError(f"--embedding {args.embedding} needs --model PATH (a local copy of "
                       "the weights; nothing is downloaded).")
    for option, choice, needs in (("generator", getattr(args, "generator", None),
                                   ("musicldm", "audioldm")),
                                  ("tagger", getattr(args, "tagger", None), ("ast",))):
        model = getattr(args, f"{option}_model", None)
        if choice in needs and model is None:
            raise CLIError(f"--{option} {choice} needs --{option}-model PATH (a local copy of "
                           "the weights; nothing is downloaded).")
        if choice not in needs and model is not None:
            raise CLIError(f"--{option}-model is for --{option} {' or '.join(needs)}, not "
                           f"--{option} {choice}.")
        if model is not None:
            paths[f"{option}_model"] = existing_path(model, f"--{option}-model", kind="dir")
    if getattr(args, "generator", None) in ("musicldm", "audioldm") and args.embedding != "clap":
        raise CLIError(f"--generator {args.generator} is conditioned on CLAP embeddings: use "
                       "--embedding clap with --model PATH (the CLAP weights of the "
                       "pipeline).")
    return paths


def load_subject(args, paths, progress):
    """The study Bunch of one subject plus its stimulus audio (and captions if given)."""
    from ..alignment import window_scans
    from ..datasets import load_captions, load_gtzan_clips, load_nakai2022
    from ..datasets._events import CLIP_DURATION, TR

    progress.log(f"loading subject {args.subject} from {paths['fmriprep'] or paths['bids']}")
    # A delay moves the last window past the clip's scans: keep the scans it reaches.
    n_trailing_scans = int(window_scans(CLIP_DURATION, CLIP_DURATION, TR, TR, args.delay)[-1, 1]
                           - round(CLIP_DURATION / TR))
    try:
        study = load_nakai2022(paths["bids"], args.subject, derivatives=paths["fmriprep"],
                               space=args.space, responses_dir=paths["preprocessed"],
                               mask_img=paths["mask"], atlas_img=paths["atlas"],
                               n_trailing_scans=n_trailing_scans)
        progress.log(f"cutting {len(study.clips_train) + len(study.clips_test)} stimulus clips "
                     "out of GTZAN")
        study.audio_train = load_gtzan_clips(paths["gtzan"], study.clips_train)
        study.audio_test = load_gtzan_clips(paths["gtzan"], study.clips_test)
        study.captions_train = study.captions_test = None
        if paths["captions"] is not None:
            study.captions_train = load_captions(paths["captions"], study.clips_train)
            study.captions_test = load_captions(paths["captions"], study.clips_test)
    except (ValueError, OSError) as exc:
        raise CLIError(str(exc).strip().splitlines()[0]) from exc
    study.sample_rate = 22050
    study.delay = args.delay
    # Trailing scans are the next clip's first scans: clips of a run share data, so inner
    # cross-validation must keep runs together.
    study.cv_groups = study.clips_train.run.to_numpy() if n_trailing_scans else None
    return study


def embedding_spec(args, study):
    """The decoded embedding of ``--embedding`` (window of Table A.2, weights from --model)."""
    from ..experiments import EmbeddingSpec, audio_embedder

    window, analog = AUDIO_EMBEDDINGS[args.embedding]
    embedder = audio_embedder(args.embedding, window, sample_rate=study.sample_rate,
                              clip_duration=study.clip_duration, model=args.model,
                              device=args.device)
    # MusicLDM / AudioLDM are conditioned on CLAP embeddings as CLAP makes them: decoded
    # for them, the embedding stays in its own space instead of being standardised.
    diffusion = getattr(args, "generator", None) in ("musicldm", "audioldm")
    return EmbeddingSpec(args.embedding, embedder, window, label=args.embedding, analog=analog,
                         standardize=not diffusion)


def captions_spec(args, study):
    """The caption embedding (TF-IDF + SVD on the training captions), one 15 s window."""
    from ..experiments import EmbeddingSpec, caption_embedder

    return EmbeddingSpec("captions", caption_embedder(len(study.captions_train),
                                                      random_state=args.random_state),
                         study.clip_duration, source="captions",
                         label="caption TF-IDF + SVD", analog="MuLan text (offline analog)")


def load_corpus(folder, sample_rate, clip_duration, progress):
    """The first ``clip_duration`` seconds of every audio file in ``folder`` (recursively),
    prepared like the stimuli; returns (ids, audio)."""
    import librosa

    from ..datasets import prepare_clips

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in _AUDIO_SUFFIXES)
    if len(files) < 2:
        suffixes = ", ".join(sorted(_AUDIO_SUFFIXES))
        raise CLIError(f"--corpus {folder} holds {len(files)} audio files ({suffixes}); "
                       "retrieval needs at least 2.")
    n_samples = int(round(clip_duration * sample_rate))
    audio = np.zeros((len(files), n_samples), dtype=np.float32)
    for row, path in enumerate(progress.track(files, "reading the corpus")):
        try:
            wave, _ = librosa.load(path, sr=sample_rate, mono=True, duration=clip_duration)
        except Exception as exc:  # audio decoders raise many types for a broken file
            raise CLIError(f"cannot read corpus file {path}: {exc}") from exc
        audio[row, : wave.size] = wave[:n_samples]
    return [str(p.relative_to(folder)) for p in files], prepare_clips(audio, sample_rate)
