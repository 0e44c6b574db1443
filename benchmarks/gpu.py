"""The torch_cuda backend against numpy on the CPU, same data, same run.

Run on a machine with a CUDA GPU and the ``deep`` extra::

    PYTHONPATH=. python benchmarks/gpu.py

1. ROIEnsembleRidge on the paper-scale decoding problem of ``benchmarks/roi_ridge.py``
   (150 ROIs, 60,000 voxels, 480 clips x 4 windows, 128 targets, 20 alphas, 5 folds).
2. VoxelwiseEncoder at paper scale (4,800 windows x 128 features -> 60,000 voxels).

Prints wall times, the speed-up of the GPU, and whether the GPU chose the same ROIs and
alphas as numpy (float32 both).
"""

import numpy as np
from _measure import timed
from encoding import _make_train
from roi_ridge import destrieux_like_sizes, make_problem, run_ours


def main():
    import torch

    from skbrainmusic import VoxelwiseEncoder

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark compares torch_cuda with numpy")
    print(f"GPU: {torch.cuda.get_device_name()}, CPU threads: {torch.get_num_threads()}")

    X, Y, labels = make_problem(destrieux_like_sizes())
    run_ours(X[:40], Y[:40], labels, "float32", 1, "torch_cuda")  # CUDA context, kernels
    t_cpu, _, cpu = timed(run_ours, X, Y, labels, "float32", 1, "numpy")
    t_gpu, _, gpu = timed(run_ours, X, Y, labels, "float32", 1, "torch_cuda")
    same_alphas = np.mean(np.concatenate(cpu.alphas_) == np.concatenate(gpu.alphas_))
    print(f"ROIEnsembleRidge paper scale: numpy {t_cpu:.1f} s, torch_cuda {t_gpu:.1f} s "
          f"({t_cpu / t_gpu:.1f}x); same selected ROIs: "
          f"{np.array_equal(cpu.selected_rois_, gpu.selected_rois_)}; chosen alphas identical: "
          f"{same_alphas * 100:.1f}%; max |roi score difference| "
          f"{np.abs(cpu.roi_scores_ - gpu.roi_scores_).max():.1e}")

    Xe, Ye = _make_train(480, 10, 128, 60_000)
    alphas = np.logspace(-1, 7, 20)
    t_cpu, _, enc_cpu = timed(VoxelwiseEncoder(alphas=alphas, backend="numpy").fit, Xe, Ye)
    t_gpu, _, enc_gpu = timed(VoxelwiseEncoder(alphas=alphas, backend="torch_cuda").fit,
                              Xe, Ye)
    same = np.mean(enc_cpu.alphas_ == enc_gpu.alphas_)
    print(f"VoxelwiseEncoder paper scale: numpy {t_cpu:.1f} s, torch_cuda {t_gpu:.1f} s "
          f"({t_cpu / t_gpu:.1f}x); chosen alphas identical for {same * 100:.2f}% of voxels")


if __name__ == "__main__":
    main()
