"""
From fMRI to generated music in one Pipeline
============================================

The paper's generation path (Section 3.3, Figure 1a) is three estimators in a row: a
decoder predicts the music embedding from fMRI responses, a calibration undoes the ridge's
shrinkage with statistics of held-out training clips, and a generator turns the predicted
embedding into a waveform. Its Figure-1 number is the identification accuracy of the
generated clips: each generated clip is embedded again and must correlate more with the
embedding of its own stimulus than with those of the other test clips (chance: 0.5).

Everything here is an estimator, so the number comes from ``fit`` and a scorer:

- :class:`~skbrainmusic.CalibratedDecoder` wraps ``TemporalWindowAligner ->
  ROIEnsembleRidge`` and learns its calibration out of fold, inside ``fit``;
- :class:`~skbrainmusic.ConditionedGenerator` learns only from its
  :class:`~skbrainmusic.Corpus` (embeddings and audio of corpus clips), never from the
  decoded predictions the Pipeline hands it, so cross-validating the whole path leaks
  nothing;
- :func:`~skbrainmusic.evaluation.make_generation_scorer` embeds the generated waveforms
  with the stimuli's embedder and scores their identification.

Two references frame the number: generation from the *true* embeddings of the test clips
(the generator's own ceiling: a perfect decoder) and a control fitted on responses
shuffled across clips, which must stay at chance. The default generator
(:class:`~skbrainmusic.generation.ScoreBackend`) learns on its corpus to decode musical
attributes (genre from the corpus' labels; tempo, key, tonal balance estimated from the
corpus audio) and composes a new piece from them; another generator is another backend
object (``"spectrogram"``, or :class:`~skbrainmusic.generation.DiffusionBackend` with
MusicLDM weights): the Pipeline does not change.
"""

# %%
# The Figure-1 number, from the estimators alone
# ----------------------------------------------
# The demo's tiny scale: 40 training clips, 10 test clips, 400 voxels, a corpus of 24.
from sklearn.pipeline import make_pipeline

import skbrainmusic as sbm
from skbrainmusic.evaluation import make_generation_scorer

study = sbm.make_synthetic_study(n_train_runs=1, n_test_runs=1, n_voxels=400, n_corpus=24,
                                 random_state=0)
rate = study.sample_rate
embedder = sbm.AudioEmbedder(window=10.0, sample_rate=rate).fit(study.audio_train)
train, test = embedder.transform(study.audio_train), embedder.transform(study.audio_test)
corpus = sbm.Corpus(embedder.transform(study.corpus.audio), audio=study.corpus.audio,
                    sample_rate=rate, labels=study.corpus.clips.genre)
decoder = make_pipeline(sbm.TemporalWindowAligner(window=10.0),
                        sbm.ROIEnsembleRidge(study.roi_labels, n_rois=6, cv=3))
generator = sbm.ConditionedGenerator(corpus=corpus, random_state=0)  # the score generator
model = make_pipeline(sbm.CalibratedDecoder(decoder, cv=3), generator)
model.fit(study.responses_train, train)
score = make_generation_scorer(embedder, sample_rate=rate)
print(f"generation identification from fMRI: {score(model, study.responses_test, test):.3f}")

# %%
# Its references
# --------------
# The generator alone, conditioned on the true test embeddings, and the whole Pipeline
# refitted on responses shuffled across clips.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone

shuffled = np.random.default_rng(0).permutation(len(train))
control = clone(model).fit(study.responses_train[shuffled], train)
scores = {
    "from fMRI": score(model, study.responses_test, test),
    "true embeddings": score(model[-1], test, test),
    "shuffled responses": score(control, study.responses_test, test),
}
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(list(scores), list(scores.values()))
ax.axvline(0.5, color="k", linestyle="--", label="chance")
ax.set_xlabel("identification accuracy of generated clips")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The same scorer works in ``cross_val_score`` and ``GridSearchCV`` on the whole
# Pipeline (e.g. over ``conditionedgenerator__backend__alphas`` or
# ``calibrateddecoder__estimator__roiensembleridge__n_rois``): the generator's backend
# parameters are ordinary nested parameters, and its corpus is never copied by ``clone``.
