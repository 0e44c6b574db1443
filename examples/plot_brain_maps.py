"""
Brain maps: encoding accuracy, ROI scores and weight PCs drawn on the cortex
============================================================================

The paper shows its encoding results as brains (Figures 2-4): held-out accuracy of a
voxelwise encoding model on the inflated and flattened cortex, only where it is significant
(FDR-corrected), and the principal components of the encoding weights. The synthetic study
lives in MNI space (cortical grey matter of the MNI152 template, parcels around the ROI
centres of Seitzman et al. 2020), so its maps are drawn with nilearn on the template and on
the fsaverage5 surfaces, all shipped with nilearn (offline). Real data from fMRIPrep in an
``MNI152*`` space are drawn the same way; data in the subject's ``T1w`` space are drawn as
slices over the subject's anatomy (:func:`~skbrainmusic.plotting.plot_stat_map`).
"""

# %%
import numpy as np

from skbrainmusic import AudioEmbedder, TemporalWindowAligner, VoxelwiseEncoder, plotting
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.encoding import permutation_test, weight_pca, write_maps

study = make_synthetic_study(n_train_runs=6, n_test_runs=3, n_voxels=1500, n_corpus=0,
                             random_state=0)
print(study.DESCR)
print(study.mask_img.shape, study.mask_img.header.get_zooms(), study.voxel_coords.shape)

# %%
# Fit the encoding model and test it
# ----------------------------------
# A ridge model per voxel predicts the windowed responses from a mel-spectrogram
# embedding; the held-out correlations are tested by permuting whole clips, with
# Benjamini-Hochberg FDR over the 1,500 voxels. With only 30 test clips few voxels can
# reach significance, and the smallest p-value is ``1 / (n_permutations + 1)``: BH over
# 1,500 voxels needs many permutations.
embedder = AudioEmbedder(backend="mel", window=10.0, sample_rate=study.sample_rate)
X_train = embedder.fit_transform(study.audio_train)
X_test = embedder.transform(study.audio_test)
aligner = TemporalWindowAligner(window=10.0)
Y_train = aligner.fit_transform(study.responses_train)
Y_test = aligner.transform(study.responses_test)
encoder = VoxelwiseEncoder().fit(X_train, Y_train)
result = permutation_test(Y_test, encoder.predict(X_test), n_permutations=20000, q=0.05,
                          random_state=0)
print(f"{result.significant.sum()} of {result.significant.size} voxels significant")

# %%
# Figure 2a analog: held-out accuracy on the cortex
# -------------------------------------------------
# Inflated cortex (lateral and medial views) and flat maps of both hemispheres, voxels with
# ``|r| > 0.15``: the well-predicted voxels sit on the superior temporal plane, where the
# simulation put the informative ROIs.
figure = plotting.plot_surface(result.scores, study.mask_img, threshold=0.15,
                               title="held-out r", label="Pearson r")

# %%
# Only the FDR-significant voxels (q < 0.05), as the paper draws them, here as a glass
# brain on the MNI152 template (the colour scale is that of all voxels).
figure = plotting.plot_glass_brain(result.scores, study.mask_img,
                                   significant=result.significant,
                                   title="held-out r, FDR q < 0.05")

# %%
# ROI scores on the brain
# -----------------------
# Every voxel takes the mean held-out r of its parcel: the ROI-level view that the decoder
# (:class:`~skbrainmusic.ROIEnsembleRidge`) ranks ROIs by. The informative parcels are
# named after their Seitzman network and hemisphere.
rois = np.unique(study.roi_labels)
roi_r = np.array([result.scores[study.roi_labels == roi].mean() for roi in rois])
best = rois[np.argsort(roi_r)[::-1][:4]]
print("best parcels:", [study.roi_names[roi] for roi in best])
print("informative: ", [study.roi_names[roi] for roi in study.informative_rois])
figure = plotting.plot_roi_scores(roi_r, rois, study.roi_labels, study.mask_img,
                                  title="mean held-out r per parcel", label="mean r",
                                  flat=False)

# %%
# Figure 4c analog: principal components of the encoding weights
# --------------------------------------------------------------
# PCA of the weights of the best-predicted voxels (A.1.7); each voxel's loading on the
# first two components, on the flat maps. The other voxels are transparent.
pca = weight_pca([encoder], [encoder.cv_scores_], n_top_voxels=50, n_components=2)
print("explained variance ratio:", np.round(pca.explained_variance_ratio, 3))
figure = plotting.plot_pca_loadings(pca.loading_maps(0, study.roi_labels.size),
                                    study.mask_img, components=2)

# %%
# Maps as files, and an interactive viewer
# ----------------------------------------
# The maps are NIfTI images named as BIDS derivatives, ready for any viewer;
# :func:`~skbrainmusic.plotting.view_brain` makes nilearn's interactive page (in a notebook
# it shows inline, ``path=`` writes it as HTML).
import tempfile

paths = write_maps({"r": result.scores,
                    "significant_r": np.where(result.significant, result.scores, np.nan)},
                   study.mask_img, tempfile.mkdtemp(), subject=study.subject,
                   space=study.space, desc="mel")
print(sorted(path.name for path in paths.values()))
plotting.view_brain(result.scores, study.mask_img, significant=result.significant,
                    title="held-out r")
