"""Speed and memory of EmbeddingRetriever's exact search, with baselines from the same run.

Retrieval of ``--n-queries`` queries (d = 128) against ``--n-items`` corpus items, top-1
and top-10 cosine similarity. Reported:

- queries/s of EmbeddingRetriever (``n_jobs=1``: one thread with multithreaded BLAS, and
  the default ``n_jobs=None``: as many threads as BLAS, each with single-threaded BLAS);
- the ratio to ``sklearn.neighbors.NearestNeighbors(metric="cosine", algorithm="brute")``,
  run on the first ``--sklearn-queries`` queries (labelled: a subset, since it is slow) and
  checked to return the same neighbours;
- the ratio to the float32 GEMM floor: the time of computing all query-item products
  with BLAS into a reused buffer, nothing else;
- peak memory (summed PSS of the process and its workers, in a fresh process per corpus
  size) against the corpus size;
- first, the copies of the corpus (issue 11): time and extra memory (peak of the memory
  numpy allocates, traced by ``tracemalloc``) of ``sklearn.clone`` and ``fit`` on a
  ``--copies-items`` x ``--copies-d`` float32 corpus, against the old behaviour measured in
  the same run: ``clone`` deep-copied the corpus (as it still does for a mapping: a
  :class:`~skbrainmusic.retrieval.Corpus` is shared), and ``fit`` built a unit-norm float32
  copy (validation, float32 norms, division; now the rows are searched in place with
  precomputed float64 norms).

Targets (issue 6): >= 5x scikit-learn, within 2x of the GEMM floor, peak memory below the
corpus size + 1 GiB. Issue 11: no copy of the corpus in ``clone`` or ``fit``.

Usage::

    PYTHONPATH=. python benchmarks/retrieval.py         # 10,000 x 1,000,000 (minutes)
    PYTHONPATH=. python benchmarks/retrieval.py --n-items 100000 --n-queries 2000  # quick
    PYTHONPATH=. python benchmarks/retrieval.py --copies-only  # clone / fit copies only
"""

import argparse
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
from _measure import PeakMemory, best_time, timed
from sklearn.base import clone

from skbrainmusic._validation import check_clips
from skbrainmusic.retrieval import Corpus, EmbeddingRetriever, exact_top_k


def make_data(n_items, n_queries, d, seed=0):
    rng = np.random.default_rng(seed)
    items = rng.standard_normal((n_items, d), dtype=np.float32)
    queries = rng.standard_normal((n_queries, d), dtype=np.float32)
    return items, queries


def gemm_floor(queries, items, n_threads, query_block=256, item_block=16384):
    """Seconds to compute every query-item product in float32, nothing else.

    The faster of multithreaded BLAS on big blocks and ``n_threads`` threads running
    single-threaded BLAS on their own query blocks (each into a reused buffer).
    """
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    def products(q_start, q_stop, q_block, buffer):
        for q in range(q_start, q_stop, q_block):
            block = queries[q:min(q + q_block, q_stop)]
            for i in range(0, len(items), item_block):
                chunk = items[i:i + item_block]
                np.matmul(block, chunk.T, out=buffer[:len(block), :len(chunk)])

    blas_threads = timed(products, 0, len(queries), 2048,
                         np.empty((2048, item_block), np.float32)).wall
    per_thread = -(-len(queries) // n_threads)

    def own_threads():
        with threadpool_limits(limits=1, user_api="blas"):
            Parallel(n_jobs=n_threads, require="sharedmem")(
                delayed(products)(t, min(t + per_thread, len(queries)), query_block,
                                  np.empty((query_block, item_block), np.float32))
                for t in range(0, len(queries), per_thread))

    return min(blas_threads, timed(own_threads).wall)


def memory_child(n_items, n_queries, d, k):
    """Run in a fresh process: peak PSS of building the index and searching."""
    items, queries = make_data(n_items, n_queries, d)
    with PeakMemory() as memory:
        EmbeddingRetriever(items, n_neighbors=k).fit().kneighbors(queries)
    print(json.dumps({"n_items": n_items, "corpus_bytes": items.nbytes,
                      "with_corpus": memory.baseline, "peak": memory.peak}))


def time_and_memory(function, repeats=3):
    """Best time of ``repeats`` calls, and the peak memory one call allocates above its start.

    numpy reports its allocations to ``tracemalloc``, so the peak counts array copies
    exactly (and nothing the process held before the call).
    """
    seconds = best_time(function, repeats)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def old_fit(embeddings):
    """What fit did before issue 11: validate, then a unit-norm float32 copy of the corpus."""
    items = check_clips(embeddings, name="corpus embeddings")[0][:, 0, :]
    items = items.astype(np.float32, copy=False)
    return (items / np.linalg.norm(items, axis=1)[:, np.newaxis]).astype(np.float32, copy=False)


def measure_copies(n_items, d, n_queries):
    """Time and extra memory of clone() and fit(), old behaviour against new, and the search
    time of the old unit-norm index against the corpus searched in place."""
    embeddings = np.random.default_rng(0).standard_normal((n_items, d), dtype=np.float32)
    corpus = Corpus(embeddings)
    as_mapping = EmbeddingRetriever({"embeddings": embeddings})
    as_corpus = EmbeddingRetriever(corpus)
    rows = [
        ("clone", "deep copy of the corpus (a mapping, as before)", lambda: clone(as_mapping),
         "EmbeddingRetriever(Corpus)", lambda: clone(as_corpus)),
        ("fit", "unit-norm float32 copy (old fit)", lambda: old_fit(embeddings),
         "EmbeddingRetriever(Corpus).fit()", lambda: clone(as_corpus).fit()),
    ]
    print(f"corpus copies: {n_items:,} x {d} float32 corpus ({embeddings.nbytes / 2**20:.0f} MiB)")
    for step, old_name, old, new_name, new in rows:
        old_seconds, old_peak = time_and_memory(old)
        new_seconds, new_peak = time_and_memory(new)
        print(f"  {step}: {old_name}: {old_seconds * 1e3:8.2f} ms, {old_peak / 2**20:7.1f} MiB | "
              f"{new_name}: {new_seconds * 1e3:8.2f} ms, {new_peak / 2**20:7.1f} MiB | "
              f"time x{old_seconds / new_seconds:,.1f} faster, memory "
              f"{new_peak / old_peak:.4f} of the old")
    fitted = clone(as_corpus).fit()
    print(f"  fitted index shares the corpus' memory: "
          f"{np.shares_memory(fitted.index_, embeddings)}")
    # The price of searching in place: every similarity block is scaled by inverse norms.
    queries = np.random.default_rng(1).standard_normal((n_queries, d), dtype=np.float32)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    unit_copy = old_fit(embeddings)
    for k in (1, 10):
        old_seconds, _ = time_and_memory(
            lambda k=k: exact_top_k(unit_queries, unit_copy, k), repeats=2)
        new_seconds, _ = time_and_memory(lambda k=k: fitted.kneighbors(queries, k), repeats=2)
        same = (fitted.kneighbors(queries, k)[1] == exact_top_k(unit_queries, unit_copy, k)[1])
        print(f"  search of {n_queries:,} queries, top-{k}: unit-norm copy (old index) "
              f"{old_seconds:.2f} s | corpus in place with inverse norms {new_seconds:.2f} s "
              f"| x{new_seconds / old_seconds:.2f} the old time | same neighbours for "
              f"{same.all(axis=1).mean():.1%} of the queries")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-items", type=int, default=1_000_000)
    parser.add_argument("--n-queries", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--sklearn-queries", type=int, default=500)
    parser.add_argument("--serial-queries", type=int, default=1000)
    parser.add_argument("--memory-sizes", type=int, nargs="*",
                        default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--copies-items", type=int, default=100_000)
    parser.add_argument("--copies-d", type=int, default=512)
    parser.add_argument("--copies-queries", type=int, default=1000)
    parser.add_argument("--copies-only", action="store_true",
                        help="only measure the copies of clone() and fit()")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, 1000, args.d, 10)
        return

    measure_copies(args.copies_items, args.copies_d, args.copies_queries)
    if args.copies_only:
        return

    from sklearn.neighbors import NearestNeighbors

    print(f"machine: {os.cpu_count()} CPUs, numpy {np.__version__}")
    items, queries = make_data(args.n_items, args.n_queries, args.d)
    print(f"corpus {args.n_items:,} x {args.d} float32 ({items.nbytes / 2**20:.0f} MiB), "
          f"{args.n_queries:,} queries")
    unit_items = items / np.linalg.norm(items, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    floors = [gemm_floor(unit_queries, unit_items, os.cpu_count())]

    n_sub = min(args.sklearn_queries, args.n_queries)
    rows = []
    for k in (1, 10):
        sk = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute", n_jobs=-1)
        sk.fit(items)
        sk_seconds, _, (_, sk_indices) = timed(sk.kneighbors, queries[:n_sub])
        rows.append((k, "sklearn NearestNeighbors(cosine, brute, n_jobs=-1)", n_sub,
                     sk_seconds, None, 1.0))
        n_serial = min(args.serial_queries, args.n_queries)
        for n_jobs, n_timed in ((1, n_serial), (None, args.n_queries)):
            retriever = EmbeddingRetriever(items, n_neighbors=k, n_jobs=n_jobs)
            fit_seconds = timed(retriever.fit).wall
            seconds, _, (_, indices) = timed(retriever.kneighbors, queries[:n_timed])
            agree = (indices[:n_sub] == sk_indices).all(axis=1).mean()
            rows.append((k, f"EmbeddingRetriever(n_jobs={n_jobs})", n_timed, seconds,
                         fit_seconds, agree))
    # The machine may be shared: the floor is the faster of a measurement before and after.
    floors.append(gemm_floor(unit_queries, unit_items, os.cpu_count()))
    floor = min(floors)
    print(f"float32 GEMM floor: {floor:.2f} s for all queries ({args.n_queries / floor:,.0f} "
          f"queries/s, {2 * args.n_queries * args.n_items * args.d / floor / 1e9:.0f} GFLOP/s; "
          f"measured {floors[0]:.2f} s before and {floors[1]:.2f} s after the searches)")
    for k in (1, 10):
        sk_qps = next(n / sec for kk, name, n, sec, _, _ in rows
                      if kk == k and name.startswith("sklearn"))
        print(f"\ntop-{k}:")
        for kk, name, n_timed, seconds, fit_seconds, agree in rows:
            if kk != k:
                continue
            qps = n_timed / seconds
            label = "" if n_timed == args.n_queries else f" on {n_timed} queries (subset)"
            line = (f"  {name}{label}: {seconds:.2f} s, {qps:,.0f} queries/s | "
                    f"x{qps / sk_qps:.1f} sklearn | "
                    f"{seconds / (floor * n_timed / args.n_queries):.2f}x the GEMM floor")
            if fit_seconds is not None:
                line += (f" | fit {fit_seconds:.2f} s | same neighbours as sklearn for "
                         f"{agree:.1%} of its {n_sub} queries")
            print(line)

    print("\npeak memory (fresh process each; 1,000 queries, top-10):")
    for n_items in args.memory_sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(n_items), "--d", str(args.d)],
            capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        extra = row["peak"] - row["with_corpus"]
        print(f"  {n_items:>9,} items: corpus {row['corpus_bytes'] / 2**20:7.0f} MiB, "
              f"peak PSS {row['peak'] / 2**20:7.0f} MiB, above the process holding "
              f"its corpus: {extra / 2**20:6.0f} MiB (target < 1024 MiB)")


if __name__ == "__main__":
    main()
