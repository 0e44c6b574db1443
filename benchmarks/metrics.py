"""Timing of identification_accuracy against the float32 GEMM floor it cannot beat.

Run: PYTHONPATH=. python benchmarks/metrics.py
The score needs the full (n x n) correlation matrix, i.e. one (n x d) @ (d x n) product;
the ratio to a bare float32 GEMM of the same size shows the overhead of everything else.
"""

import numpy as np
from _measure import best_time

from skbrainmusic.metrics import identification_accuracy, top_n_agreement_batch


def main():
    rng = np.random.default_rng(0)
    d = 512
    print(f"{'n':>7} {'d':>5} {'identification (s)':>19} {'float32 GEMM (s)':>17} {'ratio':>6}")
    for n in (1_000, 10_000):
        T = rng.standard_normal((n, d)).astype(np.float32)
        P = T + rng.standard_normal((n, d)).astype(np.float32)
        t_id = best_time(lambda T=T, P=P: identification_accuracy(T, P), 3)
        t_gemm = best_time(lambda T=T, P=P: P @ T.T, 3)
        print(f"{n:>7} {d:>5} {t_id:>19.3f} {t_gemm:>17.3f} {t_id / t_gemm:>6.2f}")
    scores_a = rng.random((100_000, 25))
    scores_b = rng.random((100_000, 25))
    t_top = best_time(lambda: top_n_agreement_batch(scores_a, scores_b, 2), 3)
    print(f"top_n_agreement_batch, 100,000 pairs x 25 classes, n=2: {t_top:.3f} s")


if __name__ == "__main__":
    main()
