"""
Recipe: decoding music from the real data (OpenNeuro ds003720)
==============================================================

This recipe is not executed when the documentation is built: it needs the data set
(about 60 GB of BIDS images, or the authors' preprocessed arrays) and GTZAN. Everything else
is the same as on the simulated study, because :func:`~skbrainmusic.datasets.load_nakai2022`
returns the same structure as :func:`~skbrainmusic.datasets.make_synthetic_study`.

What you need:

- ds003720 from OpenNeuro (``openneuro-py download --dataset ds003720`` or DataLad);
- a cortical mask and the Destrieux atlas (FreeSurfer ``aparc.a2009s+aseg``) resampled to
  each subject's functional grid, for ROI labels -- or the authors' preprocessed
  ``sub-00X_Resp_{Training,Test}.npy`` arrays, which come without voxel coordinates (then
  use ``ROIEnsembleRidge(None, n_rois=1, screen_voxels=...)``);
- GTZAN (``genres_original``) for the stimulus audio;
- optionally the Brain2Music captions CSV and a local CLAP model for the MuLan counterparts.

The command line does all of this in one call::

    skbrainmusic decode --bids ds003720 --subject 1 --gtzan gtzan/genres_original \\
        --mask sub-001_cortex.nii.gz --atlas sub-001_aparc.a2009s+aseg_func.nii.gz \\
        --captions brain2music-captions.csv --out sub-001
"""

# %%
# Load one subject and its stimuli
# --------------------------------
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbrainmusic import AudioEmbedder, ROIEnsembleRidge, TemporalWindowAligner
from skbrainmusic.datasets import load_gtzan_clips, load_nakai2022
from skbrainmusic.metrics import identification_accuracy, identification_scorer

study = load_nakai2022("ds003720", subject=1, mask_img="sub-001_cortex.nii.gz",
                       atlas_img="sub-001_aparc.a2009s+aseg_func.nii.gz")
audio_train = load_gtzan_clips("gtzan/genres_original", study.clips_train)
audio_test = load_gtzan_clips("gtzan/genres_original", study.clips_test)
print(study.responses_train.shape)  # (480, 10, n_voxels)

# %%
# The MuLan counterpart: CLAP audio embeddings of 10 s windows
# ------------------------------------------------------------
# ``model`` is a local copy of e.g. laion/larger_clap_music; use ``backend="librosa"`` to
# stay offline.
embedder = AudioEmbedder(backend="clap", window=10.0, model="models/larger_clap_music",
                         sample_rate=22050, device="cuda")
E_train = embedder.fit_transform(audio_train)
E_test = embedder.transform(audio_test)
scaler = StandardScaler().fit(E_train.reshape(-1, E_train.shape[-1]))
E_train = scaler.transform(E_train.reshape(-1, E_train.shape[-1])).reshape(E_train.shape)
E_test = scaler.transform(E_test.reshape(-1, E_test.shape[-1])).reshape(E_test.shape)

# %%
# Decode: cross-validation on the training clips, then the held-out test clips
# ----------------------------------------------------------------------------
decoder = make_pipeline(TemporalWindowAligner(window=10.0),
                        ROIEnsembleRidge(study.roi_labels, n_rois=6, n_jobs=-1))
print(cross_val_score(decoder, study.responses_train, E_train, cv=KFold(5),
                      scoring=identification_scorer))
decoder.fit(study.responses_train, E_train)
print("test identification:", identification_accuracy(E_test, decoder.predict(
    study.responses_test)))
