"""Building a corpus store at scale, then retrieving from it, with baselines from the same run.

``--sizes`` corpora of generated 15 s clips (22,050 Hz: a tone of a clip-specific pitch
plus noise, made on the fly by the source iterable, so no corpus is ever in memory) are
embedded by ``AudioEmbedder(backend=--backend)`` (standardised, fitted on 32 clips) into
an on-disk store with :func:`skbrainmusic.retrieval.build_corpus`. Each build runs in a
fresh process; reported:

- seconds per clip of the build (generation included), and the ratio to the baseline
  measured in the same run: ``embedder.transform`` of the same clips in memory, batch by
  batch, with no store (so the ratio is the store's overhead);
- the peak of the summed PSS of the build process (and any workers) above its start, at
  every size: it must not grow with the number of clips (it is about two batches of audio,
  ``--batch-size`` x 15 s x 4 bytes x 2, plus the embedder's work arrays);
- retrieval of ``--n-queries`` queries (noisy copies of stored embeddings) from the largest
  store, opened memory-mapped (:func:`~skbrainmusic.retrieval.open_corpus`), against the
  same search on an in-memory copy of the embeddings; peak memory above the start;
- an extrapolation to FMA-full (106,574 tracks), labelled as such: time per clip and per
  query scale linearly, memory stays at the measured peak.

Usage::

    PYTHONPATH=. python benchmarks/corpus.py                       # 500 and 2,000 clips
    PYTHONPATH=. python benchmarks/corpus.py --sizes 2000 20000    # the issue's sizes
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _measure import PeakMemory, timed

from skbrainmusic import AudioEmbedder, EmbeddingRetriever
from skbrainmusic.retrieval import Corpus, build_corpus, open_corpus

RATE = 22050
SECONDS = 15.0
FMA_FULL = 106_574


def clip(index):
    """A 15 s clip: a tone whose pitch depends on ``index``, plus noise."""
    rng = np.random.default_rng(index)
    t = np.arange(int(SECONDS * RATE), dtype=np.float32) / RATE
    pitch = 80.0 * 2 ** (rng.uniform(0, 5))
    wave = 0.2 * np.sin(np.float32(2 * np.pi * pitch) * t)
    wave += 0.05 * rng.standard_normal(t.size, dtype=np.float32)
    return wave


def clips(n, start=0):
    for index in range(start, start + n):
        yield f"gen{index:07d}", clip(index), RATE


def fitted_embedder(backend):
    embedder = AudioEmbedder(backend=backend, sample_rate=RATE)
    return embedder.fit(np.stack([clip(10**8 + i) for i in range(32)]))


def child_build(args):
    """Build one store in this fresh process; print its measurements as JSON."""
    embedder = fitted_embedder(args.backend)
    with PeakMemory() as memory:
        timing = timed(build_corpus, clips(args.child), embedder, args.store,
                       batch_size=args.batch_size, n_jobs=args.n_jobs, progress=False)
    print(json.dumps({"n": args.child, "wall": timing.wall, "extra": memory.extra,
                      "shape": list(timing.result.embeddings.shape)}))


def child_retrieve(args):
    """Retrieve from a stored corpus, memory-mapped and in memory; print JSON."""
    corpus = open_corpus(args.store)
    rng = np.random.default_rng(1)
    rows = rng.integers(0, corpus.n_items, args.n_queries)
    queries = np.asarray(corpus.embeddings[rows]) + 0.1 * rng.standard_normal(
        (args.n_queries, corpus.n_features), dtype=np.float32)
    with PeakMemory() as memory:
        retriever = EmbeddingRetriever(corpus).fit()
        stored = timed(retriever.predict, queries)
    in_memory = EmbeddingRetriever(Corpus(np.array(corpus.embeddings), ids=corpus.ids)).fit()
    baseline = timed(in_memory.predict, queries)
    assert (stored.result == baseline.result).all()
    top1 = float(np.mean(stored.result == corpus.ids[rows]))
    print(json.dumps({"n": corpus.n_items, "wall": stored.wall, "baseline": baseline.wall,
                      "extra": memory.extra, "top1": top1,
                      "store_bytes": int(corpus.embeddings.nbytes)}))


def run_child(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}
    output = subprocess.run([sys.executable, __file__, *args], check=True, env=env,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--backend", default="librosa")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--n-queries", type=int, default=1000)
    parser.add_argument("--baseline-clips", type=int, default=128)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--retrieve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.retrieve:
        return child_retrieve(args)
    if args.child:
        return child_build(args)

    embedder = fitted_embedder(args.backend)
    n_base = args.baseline_clips
    start = time.perf_counter()
    for begin in range(0, n_base, args.batch_size):
        embedder.transform([wave for _, wave, _ in clips(min(args.batch_size, n_base - begin),
                                                           begin)])
    baseline = (time.perf_counter() - start) / n_base
    print(f"baseline: embedder.transform in memory, no store: {1e3 * baseline:.1f} ms/clip "
          f"({n_base} clips, backend={args.backend}, 15 s at {RATE} Hz)")
    with tempfile.TemporaryDirectory() as folder:
        builds = []
        for n in args.sizes:
            store = os.path.join(folder, f"store{n}")
            build = run_child("--child", str(n), "--store", store, "--backend", args.backend,
                              "--batch-size", str(args.batch_size), "--n-jobs",
                              str(args.n_jobs))
            builds.append(build)
            per_clip = build["wall"] / n
            print(f"build_corpus {n:>7,} clips: {build['wall']:7.1f} s, {1e3 * per_clip:.1f} "
                  f"ms/clip ({per_clip / baseline:.2f}x the baseline), peak memory "
                  f"+{build['extra'] / 2**20:.0f} MiB, store {build['shape']} float32")
        first, last = builds[0], builds[-1]
        print(f"peak memory at {last['n']:,} / at {first['n']:,} clips: "
              f"{last['extra'] / first['extra']:.2f}x for {last['n'] / first['n']:.0f}x the clips")
        retrieval = run_child("--retrieve", "--store", os.path.join(folder, f"store{last['n']}"),
                              "--n-queries", str(args.n_queries))
    ratio = retrieval["wall"] / retrieval["baseline"]
    print(f"retrieval of {args.n_queries} queries from the stored {retrieval['n']:,} clips "
          f"(memory-mapped): {retrieval['wall']:.3f} s ({ratio:.2f}x the in-memory search), "
          f"peak memory +{retrieval['extra'] / 2**20:.1f} MiB for a "
          f"{retrieval['store_bytes'] / 2**20:.1f} MiB store; top-1 = {retrieval['top1']:.3f}")
    per_clip = last["wall"] / last["n"]
    d = last["shape"][-1]
    print(f"EXTRAPOLATION to FMA-full ({FMA_FULL:,} tracks; not measured): build "
          f"{per_clip * FMA_FULL / 3600:.1f} h on one worker ({per_clip * FMA_FULL / 3600 / 16:.2f}"
          f" h on 16), store {FMA_FULL * d * 4 / 2**20:.0f} MiB, build memory about "
          f"+{last['extra'] / 2**20:.0f} MiB per process (the largest measured); "
          f"{args.n_queries} queries in about "
          f"{retrieval['wall'] * FMA_FULL / retrieval['n']:.2f} s (linear in the corpus).")


if __name__ == "__main__":
    main()
