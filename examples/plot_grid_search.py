"""
Tuning the haemodynamic delay and the ensemble size with GridSearchCV
=====================================================================

The window aligner's ``delay`` (how late the brain responds) and the decoder's ``n_rois``
and ``alphas`` are ordinary parameters, so :class:`~sklearn.model_selection.GridSearchCV`
tunes them with the paper's identification accuracy as the score. A delay needs scans after
the end of each clip: the study keeps two trailing scans per clip.
"""

# %%
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skbrainmusic import AudioEmbedder, ROIEnsembleRidge, TemporalWindowAligner
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.metrics import identification_scorer

study = make_synthetic_study(n_train_runs=2, n_test_runs=1, n_voxels=600, n_corpus=40,
                             n_trailing_scans=2, random_state=0)
# The embedding, standardised with independent clips (see the decoding example).
embedder = AudioEmbedder(window=10.0, sample_rate=study.sample_rate).fit(study.corpus.audio)
embeddings = embedder.transform(study.audio_train)
print(study.responses_train.shape, "12 scans per clip: 10 + 2 trailing")

# %%
# The grid
# --------
pipeline = Pipeline([
    ("align", TemporalWindowAligner(window=10.0, step=1.5)),
    ("ridge", ROIEnsembleRidge(study.roi_labels, cv=3)),
])
grid = GridSearchCV(
    pipeline,
    {
        "align__delay": [0.0, 1.5, 3.0],
        "ridge__n_rois": [1, 6],
        "ridge__alphas": [np.logspace(0, 4, 5), np.logspace(-1, 7, 20)],
    },
    scoring=identification_scorer,
    cv=KFold(4),
)
grid.fit(study.responses_train, embeddings)
print("best:", grid.best_params_, f"score {grid.best_score_:.3f}")

# %%
# The delay matters: the simulated brain responds through a haemodynamic response that
# peaks a few seconds after the sound.
import matplotlib.pyplot as plt

results = grid.cv_results_
fig, ax = plt.subplots(figsize=(5, 3.2))
for n_rois in (1, 6):
    mask = (results["param_ridge__n_rois"] == n_rois) & np.array(
        [len(a) == 20 for a in results["param_ridge__alphas"]])
    ax.plot(np.asarray(results["param_align__delay"][mask], dtype=float),
            results["mean_test_score"][mask], marker="o", label=f"n_rois={n_rois}")
ax.set_xlabel("delay [s]")
ax.set_ylabel("identification accuracy")
ax.legend()
fig.tight_layout()
plt.show()
