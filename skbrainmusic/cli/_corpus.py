"""``skbrainmusic corpus``: embed a folder of audio into a resumable on-disk corpus store.

Every number comes from :func:`skbrainmusic.retrieval.build_corpus`; this module parses
the options, sets up the parallel context (local workers or a Dask cluster) and prints
what the store holds.
"""

import json
from pathlib import Path

from ._common import CLIError, existing_path, parallel_context

EMBEDDINGS = ("librosa", "mel", "clap", "encodec", "w2v-bert", "wav2vec2", "hubert")


def add_parser(commands):
    """Add the ``corpus`` subcommand to the ``commands`` subparsers."""
    corpus = commands.add_parser(
        "corpus", help="embed a folder of audio into an on-disk corpus store (resumable)",
        description="Embed every audio file below SOURCE, batch by batch, into the store "
                    "folder --out (memory-mapped embeddings, ids, manifest). Interrupted, the "
                    "same command continues where it stopped; unreadable or silent files are "
                    "skipped and listed. --scheduler spreads the batches over a Dask "
                    "cluster (e.g. SLURM through dask-jobqueue).")
    corpus.add_argument("source", metavar="SOURCE", help="folder of audio files")
    corpus.add_argument("--out", required=True, metavar="DIR",
                        help="folder of the store: new, empty, or a store of this same build "
                             "to resume")
    corpus.add_argument("--embedding", default="librosa", choices=EMBEDDINGS,
                        help="audio embedding (default librosa, offline)")
    corpus.add_argument("--model", metavar="PATH",
                        help="local path or hub id of the embedding model (model backends)")
    corpus.add_argument("--device", default="cpu", help="torch device of model backends")
    corpus.add_argument("--window", type=float, metavar="SECONDS",
                        help="embedding window (default: the embedding's own)")
    corpus.add_argument("--sample-rate", type=int, default=22050, metavar="HZ",
                        help="rate the files are decoded at (default 22050)")
    corpus.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="clips per batch: the unit of work and of resuming (default 64)")
    corpus.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                        help="local joblib workers over batches (default -1: all cores)")
    corpus.add_argument("--scheduler", metavar="ADDRESS",
                        help="embed the batches on an existing Dask cluster, e.g. "
                             "tcp://10.0.0.5:8786 (needs skbrainmusic[distributed])")
    corpus.add_argument("--quiet", action="store_true", help="no progress bar")
    corpus.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors")
    corpus.set_defaults(run="corpus", random_state=0)


def run(args):
    """Build (or finish) the store for parsed command-line ``args``; print a summary."""
    from ..embeddings import AudioEmbedder
    from ..retrieval import build_corpus

    source = existing_path(args.source, "SOURCE", kind="dir")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if args.n_jobs == 0:
        raise CLIError("--n-jobs must be a positive number of workers or -1 (all cores), "
                       "not 0.")
    if args.sample_rate < 1:
        raise CLIError(f"--sample-rate must be a positive number of Hz, got {args.sample_rate}.")
    if args.window is not None and not args.window > 0:
        raise CLIError(f"--window must be a positive number of seconds, got {args.window}.")
    embedder = AudioEmbedder(backend=args.embedding, model=args.model, window=args.window,
                             sample_rate=args.sample_rate, device=args.device,
                             standardize=False)
    with parallel_context(args.n_jobs, args.scheduler):
        try:
            corpus = build_corpus(source, embedder, args.out, batch_size=args.batch_size,
                                  progress=not args.quiet)
        except ValueError as exc:
            raise CLIError(str(exc).strip().splitlines()[0]) from exc
    manifest = json.loads((Path(args.out) / "manifest.json").read_text())
    print(f"{args.out}: {corpus.n_items} clips embedded ({corpus.embeddings.shape[1]} "
          f"features each), {manifest['n_skipped']} skipped (listed in its manifest.json)")
