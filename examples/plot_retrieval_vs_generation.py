"""
From a predicted embedding to music: retrieval vs generation
============================================================

Figure 1 of the paper judges reconstructed music two ways: the identification accuracy of
its embedding against the stimulus', and the agreement of the top-n AudioSet classes an
audio tagger hears in the original and the reconstruction. This example decodes the music
embedding of held-out clips, then reconstructs them by retrieval from a corpus
(:class:`~skbrainmusic.EmbeddingRetriever`) and with the offline score-conditioned
generator (:class:`~skbrainmusic.ConditionedGenerator`: it decodes genre, tempo, key and
tonal balance learnt on the corpus and its genre labels, and composes a new piece), next to
the oracle (the true embedding) and chance (a random corpus clip).
"""

# %%
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbrainmusic import (
    AudioEmbedder,
    ConditionedGenerator,
    Corpus,
    EmbeddingRetriever,
    ROIEnsembleRidge,
    TemporalWindowAligner,
)
from skbrainmusic.datasets import make_synthetic_study
from skbrainmusic.metrics import identification_accuracy

study = make_synthetic_study(n_train_runs=2, n_test_runs=1, n_voxels=600, n_corpus=60,
                             random_state=0)
rate = study.sample_rate
embedder = AudioEmbedder(window=10.0, sample_rate=rate)
corpus_raw = embedder.fit_transform(study.corpus.audio)
scaler = StandardScaler().fit(corpus_raw.reshape(-1, corpus_raw.shape[-1]))


def embed(audio):
    raw = embedder.transform(audio)
    return scaler.transform(raw.reshape(-1, raw.shape[-1])).reshape(raw.shape)


corpus = embed(study.corpus.audio)
train, test = embed(study.audio_train), embed(study.audio_test)

# %%
# Decode the test clips' embeddings from fMRI
# -------------------------------------------
decoder = make_pipeline(TemporalWindowAligner(window=10.0),
                        ROIEnsembleRidge(study.roi_labels, cv=5))
predicted = decoder.fit(study.responses_train, train).predict(study.responses_test)
print(f"decoded embeddings: identification {identification_accuracy(test, predicted):.3f}")

# %%
# Reconstruct: retrieval and generation
# -------------------------------------
retriever = EmbeddingRetriever(corpus).fit()
generator = ConditionedGenerator(random_state=0, corpus=Corpus(
    corpus, audio=study.corpus.audio, sample_rate=rate,
    labels=list(study.corpus.clips.genre))).fit()
rng = np.random.default_rng(0)
reconstructions = {
    "retrieval": study.corpus.audio[retriever.predict(predicted)],
    "generation": generator.predict(predicted),
    "oracle (retrieval)": study.corpus.audio[retriever.predict(test)],
    "chance": study.corpus.audio[rng.choice(len(corpus), len(test), replace=False)],
}

# %%
# Judge them as in Figure 1a and 1b
# ---------------------------------
# The tagger is fitted on the corpus clips' AudioSet labels (genres, instruments, moods),
# never on the test clips.
from skbrainmusic.tagging import AudioTagger, top_n_agreement_score

labels = [list(g) + list(i) + list(m) for g, i, m in zip(
    study.corpus.clips.genres, study.corpus.clips.instruments, study.corpus.clips.moods)]
tagger = AudioTagger(embedder=lambda audio, sample_rate: embedder.transform(audio))
tagger.fit(study.corpus.audio, labels, sample_rate=rate)
original = tagger.predict_proba(study.audio_test, sample_rate=rate)

results = {}
for name, audio in reconstructions.items():
    proba = tagger.predict_proba(audio, sample_rate=rate)
    results[name] = [identification_accuracy(test, embed(audio))] + [
        top_n_agreement_score(original, proba, classes=tagger.classes_, group=group)
        for group in ("genres", "instruments", "moods")]
    print(f"{name:<20}" + "".join(f"{value:8.3f}" for value in results[name]))

# %%
import matplotlib.pyplot as plt

metrics = ["identification", "genres top-2", "instruments top-2", "moods top-1"]
fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.8 / len(results)
for k, (name, values) in enumerate(results.items()):
    ax.bar(np.arange(4) + (k - 1.5) * width, values, width, label=name)
ax.set_xticks(np.arange(4))
ax.set_xticklabels(metrics)
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
