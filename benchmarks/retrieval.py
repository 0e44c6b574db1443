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
  size) against the corpus size.

Targets (issue 6): >= 5x scikit-learn, within 2x of the GEMM floor, peak memory below the
corpus size + 1 GiB.

Usage::

    PYTHONPATH=. python benchmarks/retrieval.py         # 10,000 x 1,000,000 (minutes)
    PYTHONPATH=. python benchmarks/retrieval.py --n-items 100000 --n-queries 2000  # quick
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from _measure import PeakMemory, timed

from skbrainmusic.retrieval import EmbeddingRetriever


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-items", type=int, default=1_000_000)
    parser.add_argument("--n-queries", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--sklearn-queries", type=int, default=500)
    parser.add_argument("--serial-queries", type=int, default=1000)
    parser.add_argument("--memory-sizes", type=int, nargs="*",
                        default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, 1000, args.d, 10)
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
