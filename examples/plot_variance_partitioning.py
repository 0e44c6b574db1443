"""
What is unique to the music and to its description? Variance partitioning
=========================================================================

The paper asks how much of the brain's response the MuLan music embedding explains beyond
the MuLan text embedding, and vice versa (A.1.8). A banded ridge fits both feature spaces
jointly; comparing its held-out R² with each space's own model splits the explained
variance into unique and shared parts
(:func:`~skbrainmusic.encoding.variance_partitioning`). Here the offline stand-ins are an
audio embedding and a TF-IDF embedding of the clips' captions.
"""

# %%
import numpy as np

from skbrainmusic import AudioEmbedder, CaptionEmbedder, TemporalWindowAligner
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.encoding import upsample_to_windows, variance_partitioning

study = make_synthetic_study(n_train_runs=6, n_test_runs=3, n_voxels=1000, n_corpus=0,
                             random_state=0)
audio = AudioEmbedder(backend="mel", window=10.0, sample_rate=study.sample_rate)
A_train, A_test = audio.fit_transform(study.audio_train), audio.transform(study.audio_test)
captions = CaptionEmbedder(n_components=32, random_state=0).fit(study.captions_train)
# One caption per clip: repeated over the clip's 4 windows.
T_train = upsample_to_windows(captions.transform(study.captions_train), A_train.shape[1])
T_test = upsample_to_windows(captions.transform(study.captions_test), A_test.shape[1])
aligner = TemporalWindowAligner(window=10.0)
Y_train = aligner.fit_transform(study.responses_train)
Y_test = aligner.transform(study.responses_test)

# %%
# Keep the voxels of the informative ROIs and a few others, to keep the example fast.
informative = np.isin(study.roi_labels, study.informative_rois)
voxels = np.flatnonzero(informative | (np.arange(informative.size) % 20 == 0))
partition = variance_partitioning(
    {"audio": A_train, "captions": T_train}, Y_train[..., voxels],
    {"audio": A_test, "captions": T_test}, Y_test[..., voxels])
inside = informative[voxels]
for name, values in (("joint", partition.joint), ("unique audio", partition.unique["audio"]),
                     ("unique captions", partition.unique["captions"]),
                     ("shared", partition.shared)):
    print(f"{name:<16} informative ROIs {values[inside].mean():7.3f}   "
          f"others {values[~inside].mean():7.3f}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(partition.unique["captions"][~inside], partition.unique["audio"][~inside], s=8,
           color="0.6", label="other ROIs")
ax.scatter(partition.unique["captions"][inside], partition.unique["audio"][inside], s=8,
           label="informative ROIs")
ax.axhline(0, color="k", lw=0.5)
ax.axvline(0, color="k", lw=0.5)
ax.set_xlabel("unique R² of the captions")
ax.set_ylabel("unique R² of the audio")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
