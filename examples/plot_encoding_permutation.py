"""
Encoding models: which voxels does music predict?
=================================================

The other direction (Sections 3.4 and 4.2): a ridge regression per voxel predicts the
brain's response from the music embedding (:class:`~skbrainmusic.VoxelwiseEncoder`, one
penalty per voxel by cross-validation over clips). Held-out correlations are tested by
permuting whole clips and corrected for the thousands of voxels with Benjamini-Hochberg
FDR (:func:`~skbrainmusic.encoding.permutation_test`). The simulation knows which ROIs
respond to music, so we can check where the significant voxels fall.
"""

# %%
import numpy as np

from skbrainmusic import AudioEmbedder, TemporalWindowAligner, VoxelwiseEncoder
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.encoding import permutation_test

study = make_synthetic_study(n_train_runs=6, n_test_runs=3, n_voxels=1000, n_corpus=0,
                             random_state=0)
embedder = AudioEmbedder(backend="mel", window=10.0, sample_rate=study.sample_rate)
X_train = embedder.fit_transform(study.audio_train)
X_test = embedder.transform(study.audio_test)
aligner = TemporalWindowAligner(window=10.0)
Y_train = aligner.fit_transform(study.responses_train)
Y_test = aligner.transform(study.responses_test)
print(X_train.shape, Y_train.shape)

# %%
# Fit, predict the held-out clips, and test
# -----------------------------------------
# With ``n`` permutations the smallest p-value is ``1 / (n + 1)``, and Benjamini-Hochberg
# over ``m`` voxels needs ``k`` voxels with ``p <= 0.05 k / m``: with 1,000 voxels and 500
# permutations, fewer than 40 truly responsive voxels can never reach significance. Use
# enough permutations for the number of voxels you test.
encoder = VoxelwiseEncoder().fit(X_train, Y_train)
result = permutation_test(Y_test, encoder.predict(X_test), n_permutations=5000, q=0.05,
                          random_state=0)
informative = np.isin(study.roi_labels, study.informative_rois)
print(f"significant voxels: {result.significant.sum()} of {result.significant.size}")
print(f"  in informative ROIs: {result.significant[informative].mean():.1%}")
print(f"  elsewhere:           {result.significant[~informative].mean():.1%}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5.5, 3.2))
bins = np.linspace(-0.5, 1, 31)
ax.hist(result.scores[~informative], bins, alpha=0.6, label="other ROIs")
ax.hist(result.scores[informative], bins, alpha=0.6, label="informative ROIs")
threshold = result.scores[result.significant].min() if result.significant.any() else None
if threshold is not None:
    ax.axvline(threshold, color="k", ls="--", label="smallest significant r")
ax.set_xlabel("held-out Pearson r")
ax.set_ylabel("voxels")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
