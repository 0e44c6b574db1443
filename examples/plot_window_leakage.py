"""
Why the windows of a clip must stay in one fold
===============================================

Decoding compares windowed fMRI responses with windowed music embeddings: a 15 s clip gives
several overlapping windows. Windows of the same clip are nearly copies of each other, so a
cross-validation that puts some windows of a clip in the training folds and others in the
test fold measures memory, not decoding.

This example builds responses that carry *no* information about the embeddings beyond a
small shared signal, and scores a ridge decoder with the paper's identification accuracy
(:func:`skbrainmusic.metrics.identification_accuracy`, 0.5 is chance) twice: with folds over
windows, and with folds over clips.
"""

# %%
# Simulated clips
# ---------------
# Each clip has a latent stimulus feature ``z`` that drives both its embedding and the brain,
# plus a clip-specific "nuisance" in both that is unrelated between the two (what a clip's
# own sound does to the embedding, what the subject's state does to the response). Windows
# of a clip share everything except a little window noise.
import numpy as np

rng = np.random.default_rng(0)
n_clips, n_windows, n_voxels, n_dims, n_latent = 80, 4, 400, 16, 4

z = rng.standard_normal((n_clips, 1, n_latent))
embeddings = (
    z @ rng.standard_normal((n_latent, n_dims))
    + 1.5 * rng.standard_normal((n_clips, 1, n_dims))  # clip nuisance of the embedding
    + 0.1 * rng.standard_normal((n_clips, n_windows, n_dims))
)
responses = (
    z @ rng.standard_normal((n_latent, n_voxels))
    + 3.0 * rng.standard_normal((n_clips, 1, n_voxels))  # clip nuisance of the brain
    + 0.5 * rng.standard_normal((n_clips, n_windows, n_voxels))
)
print("responses", responses.shape, "embeddings", embeddings.shape)

# %%
# Scoring with folds over windows (wrong) and over clips (right)
# --------------------------------------------------------------
# scikit-learn's 2-D estimators see one row per window. ``KFold(shuffle=True)`` on those
# rows splits the windows of a clip across folds; ``GroupKFold`` with the clip as group
# keeps them together, which is what skbrainmusic's estimators do by construction with
# ``(n_clips, n_windows, n_features)`` arrays.
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold, cross_val_score

from skbrainmusic.metrics import identification_scorer

X = responses.reshape(-1, n_voxels)
Y = embeddings.reshape(-1, n_dims)
clip_of_row = np.repeat(np.arange(n_clips), n_windows)

decoder = Ridge(alpha=10.0)
leaky = cross_val_score(decoder, X, Y, cv=KFold(5, shuffle=True, random_state=0),
                        scoring=identification_scorer)
honest = cross_val_score(decoder, X, Y, groups=clip_of_row, cv=GroupKFold(5),
                         scoring=identification_scorer)
print(f"folds over windows: {leaky.mean():.3f}")
print(f"folds over clips:   {honest.mean():.3f}")

# %%
# The control: shuffled embeddings
# --------------------------------
# With the clips' embeddings shuffled, nothing in the responses relates to them. Folds over
# clips fall to chance (0.5); folds over windows still look good, because a test window's
# nearest training windows belong to its own clip.
shuffled = embeddings[rng.permutation(n_clips)].reshape(-1, n_dims)
leaky_null = cross_val_score(decoder, X, shuffled, cv=KFold(5, shuffle=True, random_state=0),
                             scoring=identification_scorer)
honest_null = cross_val_score(decoder, X, shuffled, groups=clip_of_row, cv=GroupKFold(5),
                              scoring=identification_scorer)
print(f"shuffled, folds over windows: {leaky_null.mean():.3f}")
print(f"shuffled, folds over clips:   {honest_null.mean():.3f}")

# %%
# The same comparison as a figure.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
labels = ["real", "shuffled"]
x = np.arange(2)
ax.bar(x - 0.2, [leaky.mean(), leaky_null.mean()], 0.4, label="folds over windows")
ax.bar(x + 0.2, [honest.mean(), honest_null.mean()], 0.4, label="folds over clips")
ax.axhline(0.5, ls="--", color="0.3", label="chance")
ax.set_xticks(x)
ax.set_xticklabels(labels)
ax.set_ylabel("identification accuracy")
ax.set_ylim(0.3, 1.0)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
