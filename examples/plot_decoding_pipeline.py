"""
Decoding a music embedding from fMRI with a scikit-learn Pipeline
=================================================================

The paper's decoder (Section 3.3) in three lines: average the fMRI scans over the windows of
the music embedding (:class:`~skbrainmusic.TemporalWindowAligner`), then fit one ridge
regression per region of interest and average the best six
(:class:`~skbrainmusic.ROIEnsembleRidge`). Both are scikit-learn estimators, so
:func:`~sklearn.model_selection.cross_val_score` scores the whole pipeline with the paper's
identification accuracy, and one clip is one sample: the windows of a clip never straddle
two folds.
"""

# %%
# A simulated study
# -----------------
# :func:`~skbrainmusic.datasets.make_synthetic_study` renders genre-styled music with
# General MIDI instruments and simulates a subject whose few auditory ROIs respond to it.
# This one is small (80 training clips, 600 voxels) so that the example runs in seconds.
import numpy as np

from skbrainmusic.datasets import make_synthetic_study

study = make_synthetic_study(n_train_runs=2, n_test_runs=1, n_voxels=600, n_corpus=40,
                             random_state=0)
print(study.responses_train.shape, "responses: clips x scans x voxels")
print("informative ROIs:", [study.roi_names[r] for r in study.informative_rois])

# %%
# The target: a music embedding of every clip
# -------------------------------------------
# :class:`~skbrainmusic.AudioEmbedder` with the offline ``"librosa"`` backend stands in for
# MuLan: 10 s windows advanced by 1.5 s give 4 windows per 15 s clip (Table A.2). Its 210
# dimensions (spectral statistics, tempo ...) have very different scales, and the
# identification accuracy correlates whole embedding vectors, so the embedder standardises
# each dimension with statistics learned in ``fit`` -- here on independent clips (the
# study's retrieval corpus), so that nothing about the training folds leaks into the
# targets.
from skbrainmusic import AudioEmbedder

embedder = AudioEmbedder(backend="librosa", window=10.0, sample_rate=study.sample_rate)
embedder.fit(study.corpus.audio)
embeddings = embedder.transform(study.audio_train)
print(embeddings.shape, "embeddings: clips x windows x dimensions")

# %%
# The pipeline, cross-validated over clips
# ----------------------------------------
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skbrainmusic import ROIEnsembleRidge, TemporalWindowAligner
from skbrainmusic.metrics import identification_scorer

decoder = make_pipeline(
    TemporalWindowAligner(window=10.0, step=1.5),
    ROIEnsembleRidge(study.roi_labels, n_rois=6, cv=5),
)
scores = cross_val_score(decoder, study.responses_train, embeddings, cv=KFold(5),
                         scoring=identification_scorer)
print(f"identification accuracy: {scores.mean():.3f} +- {scores.std():.3f} (chance 0.5)")

# %%
# The control: embeddings shuffled across clips
# ---------------------------------------------
# Nothing links the responses to another clip's music, so a leak-free evaluation must fall
# to chance.
rng = np.random.default_rng(0)
shuffled = embeddings[rng.permutation(len(embeddings))]
null_scores = cross_val_score(decoder, study.responses_train, shuffled, cv=KFold(5),
                              scoring=identification_scorer)
print(f"shuffled: {null_scores.mean():.3f}")

# %%
# Which ROIs were chosen?
# -----------------------
# Fitted on all training clips, the ensemble keeps the six ROIs with the best
# cross-validated correlation; the simulation knows which ROIs carry the music.
decoder.fit(study.responses_train, embeddings)
ridge = decoder[-1]
for label in ridge.selected_rois_:
    mark = "informative" if label in study.informative_rois else ""
    print(f"{study.roi_names[int(label)]:<40} {mark}")

# %%
import matplotlib.pyplot as plt

order = np.argsort(ridge.roi_scores_)[::-1][:15]
fig, ax = plt.subplots(figsize=(6, 4))
colors = ["C0" if ridge.rois_[i] in study.informative_rois else "0.7" for i in order]
ax.barh([study.roi_names[int(ridge.rois_[i])] for i in order], ridge.roi_scores_[order],
        color=colors)
ax.invert_yaxis()
ax.set_xlabel("cross-validated correlation")
ax.set_title("ROI ranking (blue: informative by construction)")
fig.tight_layout()
plt.show()
