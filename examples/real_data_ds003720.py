"""
Recipe: decoding music from the real data (OpenNeuro ds003720)
==============================================================

This recipe is not executed when the documentation is built: it needs the data set
(about 60 GB of BIDS images) preprocessed with fMRIPrep, and GTZAN. Everything else is the
same as on the simulated study, because :func:`~skbrainmusic.datasets.load_nakai2022`
returns the same structure as :func:`~skbrainmusic.datasets.make_synthetic_study`.

What you need:

- ds003720 from OpenNeuro (``openneuro-py download --dataset ds003720`` or DataLad), for
  the events;
- its fMRIPrep derivatives (motion-corrected runs, brain masks, confounds) with FreeSurfer
  (fMRIPrep's default): the Destrieux parcellation ``aparc.a2009s+aseg.mgz`` gives the ROIs,
  resampled to the BOLD grid by the loader (see :ref:`fmriprep`). The raw BIDS runs are
  not realigned: read them only if they were motion-corrected otherwise;
- GTZAN (``genres_original``) for the stimulus audio;
- optionally the Brain2Music captions CSV and a local CLAP model for the MuLan counterparts.

The command line does all of this in one call::

    skbrainmusic decode --bids ds003720 --fmriprep derivatives/fmriprep --subject 1 \\
        --gtzan gtzan/genres_original --captions brain2music-captions.csv --out sub-001
"""

# %%
# Load one subject and its stimuli
# --------------------------------
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skbrainmusic import AudioEmbedder, ROIEnsembleRidge, TemporalWindowAligner
from skbrainmusic.datasets import load_gtzan_clips, load_nakai2022
from skbrainmusic.metrics import identification_accuracy, identification_scorer

# Motion parameters and fMRIPrep's cosine high-pass are regressed out of every run, then the
# runs are detrended, z-scored and cut into clips; ROIs are FreeSurfer's Destrieux labels.
study = load_nakai2022("ds003720", subject=1, derivatives="derivatives/fmriprep",
                       space="T1w")
audio_train = load_gtzan_clips("gtzan/genres_original", study.clips_train)
audio_test = load_gtzan_clips("gtzan/genres_original", study.clips_test)
print(study.responses_train.shape)  # (480, 10, n_voxels)

# %%
# The MuLan counterpart: CLAP audio embeddings of 10 s windows
# ------------------------------------------------------------
# ``model`` is a local copy of e.g. laion/larger_clap_music; use ``backend="librosa"`` to
# stay offline.
# Every dimension is standardised with the training clips' statistics (the default).
embedder = AudioEmbedder(backend="clap", window=10.0, model="models/larger_clap_music",
                         sample_rate=22050, device="cuda")
E_train = embedder.fit_transform(audio_train)
E_test = embedder.transform(audio_test)

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
