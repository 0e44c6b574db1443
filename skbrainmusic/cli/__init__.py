"""The ``skbrainmusic`` command line: ``demo`` (offline, simulated), ``decode`` and ``encode``
(real data), ``corpus`` (a folder of audio into an on-disk corpus store). Run
``skbrainmusic <command> --help`` for the options.

Errors a user can fix (a missing path, a subject not in the data set, an unwritable output
folder) end with one line on stderr and exit status 2; ``--debug`` shows the traceback.
"""

import argparse
import os
import re
import sys
from pathlib import Path

from .._version import __version__
from ._common import CLIError
from ._corpus import add_parser as add_corpus_parser

__all__ = ["main"]


def _add_common(parser, default_out):
    parser.add_argument("--out", default=default_out, metavar="DIR",
                        help="output folder for report.html, results.json, figures, WAVs and "
                             f"models (default: {default_out})")
    parser.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                        help="local joblib workers for subjects, ROIs and permutations "
                             "(default -1: all cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the parallel work on an existing Dask cluster, e.g. "
                             "tcp://10.0.0.5:8786 (needs skbrainmusic[distributed])")
    parser.add_argument("--random-state", type=int, default=0, metavar="SEED",
                        help="seed (default 0)")
    parser.add_argument("--save-format", choices=("skops", "joblib"), default="skops",
                        help="format of the saved models: skops (safe to load, default) or "
                             "joblib (a pickle: runs code when loaded)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors")


def _add_real_data(parser):
    parser.add_argument("--bids", metavar="ROOT", required=True,
                        help="ds003720 BIDS root: the events, and the runs unless --fmriprep or "
                             "--preprocessed is given (raw runs must be realigned already)")
    parser.add_argument("--subject", type=int, required=True, metavar="N",
                        help="subject number, e.g. 1")
    parser.add_argument("--fmriprep", metavar="DIR",
                        help="fMRIPrep output folder: motion-corrected, aligned runs with their "
                             "confounds (regressed out: motion + high-pass) and FreeSurfer's "
                             "Destrieux ROIs (recommended; --bids still gives the events)")
    parser.add_argument("--space", default="T1w",
                        help="fMRIPrep output space of --fmriprep, e.g. T1w (default; "
                             "Destrieux ROIs) or MNI152NLin2009cAsym:res-2 (ROIs from --atlas)")
    parser.add_argument("--preprocessed", metavar="DIR",
                        help="folder with the authors' sub-00X_Resp_{Training,Test}.npy arrays "
                             "(used instead of the NIfTI runs)")
    parser.add_argument("--mask", metavar="NIFTI", help="brain mask in the functional space")
    parser.add_argument("--atlas", metavar="NIFTI",
                        help="Destrieux atlas for ROIs (e.g. aparc.a2009s+aseg): on the "
                             "functional grid for raw runs, any grid of --space with --fmriprep")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                        help="shift the response windows later by SECONDS (haemodynamic lag, "
                             "e.g. 3); each clip then keeps the trailing scans of the next "
                             "clip, so every inner cross-validation groups the clips by run "
                             "(default 0: the paper's windows, clips split freely)")
    parser.add_argument("--gtzan", metavar="ROOT", required=True,
                        help="GTZAN root with <genre>/<genre>.000NN.wav")
    parser.add_argument("--embedding", default="librosa",
                        choices=("librosa", "mel", "clap", "encodec", "w2v-bert", "wav2vec2",
                                 "hubert"),
                        help="music embedding to decode or encode (default librosa, offline)")
    parser.add_argument("--model", metavar="PATH",
                        help="local path or hub id of the embedding model (model backends)")
    parser.add_argument("--device", default="cpu", help="torch device of model backends")


def build_parser():
    """The argument parser of the ``skbrainmusic`` command."""
    parser = argparse.ArgumentParser(
        prog="skbrainmusic",
        description="Reconstruct music from fMRI (Brain2Music) and model music in the brain.",
    )
    parser.add_argument("--version", action="version", version=f"skbrainmusic {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="offline end-to-end reproduction on simulated subjects",
        description="Simulate a study (5 subjects), decode several music embeddings from "
                    "fMRI, reconstruct music by retrieval and generation, fit encoding "
                    "models, and write a report. Offline; no torch, no weights.")
    demo.add_argument("--scale", choices=("tiny", "small", "paper"), default="small",
                      help="small (default: minutes on 2 cores), paper (the paper's 480 + 60 "
                           "clips, ~60,000 voxels), or tiny (seconds; for tests only: numbers "
                           "are noisy)")
    demo.add_argument("--n-subjects", type=int, default=None, metavar="N",
                      help="simulated subjects (default: 5, as in the paper; 2 at tiny scale)")
    demo.add_argument("--data-home", metavar="DIR",
                      help="where the simulated study is cached (default: $SKBRAINMUSIC_DATA "
                           "or ~/skbrainmusic_data)")
    _add_common(demo, "skbrainmusic-demo")
    demo.set_defaults(run="demo")

    decode = commands.add_parser(
        "decode", help="decode music from one subject's real fMRI data (ds003720)",
        description="Fit the decoding pipeline on ds003720 and reconstruct the test clips "
                    "by retrieval and generation. The paper's path: --embedding clap "
                    "--model CLAP_DIR --generator musicldm --generator-model MUSICLDM_DIR "
                    "--tagger ast --tagger-model AST_DIR.")
    _add_real_data(decode)
    decode.add_argument("--generator", default="score",
                        choices=("score", "spectrogram", "musicldm", "audioldm"),
                        help="music generator: score (offline: decodes genre, tempo, key and "
                             "instruments learnt on the corpus and composes; default), "
                             "spectrogram (offline baseline: regressed spectrograms, which "
                             "sound alike), or MusicLDM / AudioLDM conditioned on the decoded "
                             "CLAP embedding (needs --embedding clap and --generator-model)")
    decode.add_argument("--generator-model", metavar="PATH",
                        help="local diffusers pipeline folder of --generator musicldm or "
                             "audioldm")
    decode.add_argument("--tagger", default="embedding", choices=("embedding", "ast"),
                        help="audio tagger judging the reconstructions' genres, instruments "
                             "and moods: embedding (offline classifier of the --embedding "
                             "features, fitted on the training clips' genres; default) or "
                             "ast (AudioSet classifier, needs --tagger-model)")
    decode.add_argument("--tagger-model", metavar="PATH",
                        help="local folder of the AST model (ASTForAudioClassification) of "
                             "--tagger ast")
    decode.add_argument("--oof", default="inner", choices=("inner", "refit"),
                        help="out-of-fold predictions the calibration learns from: inner "
                             "(the ROI ensemble's own cross-validation, one fit; default) or "
                             "refit (the decoder refitted on 5 folds: nested, 6 times slower)")
    decode.add_argument("--captions", metavar="CSV",
                        help="Brain2Music captions CSV (adds the caption-embedding decoder)")
    decode.add_argument("--corpus", metavar="DIR",
                        help="folder of audio files to retrieve from (default: the training "
                             "clips)")
    decode.add_argument("--n-reconstructions", type=int, metavar="N",
                        help="reconstruct only the first N test clips (default: all 60; "
                             "generation is the slow step)")
    _add_common(decode, "skbrainmusic-decode")
    decode.set_defaults(run="decode")

    encode = commands.add_parser(
        "encode", help="voxelwise encoding models on one subject's real fMRI data",
        description="Fit voxelwise encoding models, test them with permutations and FDR, "
                    "and write brain maps.")
    _add_real_data(encode)
    encode.add_argument("--n-permutations", type=int, default=1000,
                        help="permutations of the significance test (default 1000)")
    encode.add_argument("--captions", metavar="CSV",
                        help="Brain2Music captions CSV: adds the caption embedding and the "
                             "variance partitioning of audio vs captions")
    _add_common(encode, "skbrainmusic-encode")
    encode.set_defaults(run="encode")
    add_corpus_parser(commands)
    return parser


# numpy's legacy seeds (RandomState, used by scikit-learn) are 32-bit.
_MAX_SEED = 2**32 - 1
# [protocol://]host:port, the address forms a Dask client connects to.
_SCHEDULER = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):"
                        r"(\d{1,5})$")
# Dask's in-process transport (a LocalCluster with processes=False): inproc://host/pid/n.
_INPROC_SCHEDULER = re.compile(r"^inproc://[A-Za-z0-9_.:-]+/\d+/\d+$")


def _writable_folder(path, option):
    """Refuse a folder option that is a file, or in a place that cannot be written."""
    path = Path(path).expanduser()
    existing = next(parent for parent in (path, *path.parents) if parent.exists())
    if not existing.is_dir():
        raise CLIError(f"{option} {path} cannot be a folder: {existing} is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {path} is not writable ({existing} is read-only): give a "
                       "writable folder.")


def check_args(args):
    """Validate the options that would otherwise fail after minutes of work.

    Raises
    ------
    CLIError
        Naming the option, the value and what is accepted.
    """
    if not 0 <= args.random_state <= _MAX_SEED:
        raise CLIError(f"--random-state must be an integer in 0..{_MAX_SEED} (numpy's seed "
                       f"range), got {args.random_state}.")
    if not args.out.strip():
        raise CLIError("--out is empty: give the folder to write to, e.g. --out results.")
    if args.scheduler is not None:
        address = args.scheduler.strip()
        match = _SCHEDULER.match(address)
        if (match is None or not 0 < int(match.group(1)) < 2**16) \
                and not _INPROC_SCHEDULER.match(address):
            raise CLIError(f"--scheduler {args.scheduler!r} is not a Dask scheduler address: "
                           "give [protocol://]host:port, e.g. tcp://10.0.0.5:8786.")
    data_home = getattr(args, "data_home", None)
    if data_home is not None:
        if not data_home.strip():
            raise CLIError("--data-home is empty: give a folder, or leave the option out.")
        _writable_folder(data_home, "--data-home")


def _command(name):
    # Imported on demand: `skbrainmusic --help` stays fast.
    if name == "demo":
        from ._demo import run
    elif name == "decode":
        from ._decode import run
    elif name == "corpus":
        from ._corpus import run
    else:
        from ._encode import run
    return run


def main(argv=None):
    """Run the ``skbrainmusic`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 for an error the user can fix, 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    try:
        check_args(args)
        _command(args.run)(args)
    except CLIError as exc:
        if args.debug:
            raise
        print(f"skbrainmusic {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        # A missing optional dependency; the library's message says what to install.
        if args.debug:
            raise
        print(f"skbrainmusic {args.command}: error: missing dependency: {exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"skbrainmusic {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
