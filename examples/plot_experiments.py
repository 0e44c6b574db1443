"""
The paper's study in one call: the demo's report from Python
=============================================================

``skbrainmusic demo`` writes a report with Table 1 (music embeddings decoded from fMRI),
Figure 1 (music reconstructed by retrieval and by generation, judged against the oracle
and chance), the per-genre scores and encoding models. Every one of its numbers comes from
:func:`skbrainmusic.experiments.run_demo`, and the same few lines reproduce them in
Python. Each headline number also carries a 95% bootstrap interval over the test clips and
a permutation test against chance per subject, and generation is compared with retrieval
clip by clip.

This example runs the demo at its ``"tiny"`` scale (2 simulated subjects, 10 test clips:
seconds, noisy numbers); ``scale="small"`` (the command's default) or ``"paper"`` give the
numbers of the report. :func:`~skbrainmusic.experiments.run_experiment` runs the same
study on any data Bunch (e.g. ds003720) with any embedder, generator and tagger.
"""

# %%
from skbrainmusic.experiments import run_demo

results = run_demo(scale="tiny", random_state=0)

# %%
# Table 1: embeddings decoded from fMRI
# -------------------------------------
# Mean and std over subjects and the bootstrap interval of the mean over test clips.
results.table1["identification_test"].round(3)

# %%
# Figure 1a, b: reconstructions against the oracle and chance
# ------------------------------------------------------------
figure1 = results.figure1
figure1.xs("mean", axis=1, level=1).round(3)

# %%
# Figure 1c (per genre), the paired comparison, the tests and the encoding models
# -------------------------------------------------------------------------------
print(results.per_genre.round(3))
print(results.generation_vs_retrieval.round(3))
print(results.tests.round(3).head(8).to_string())
print(results.encoding.round(3))

# %%
# The same numbers as the report's results.json
# ----------------------------------------------
# :meth:`~skbrainmusic.experiments.ExperimentResults.to_dict` is the content of
# ``results.json``; plot any of it, e.g. Figure 1a with its intervals:
import matplotlib.pyplot as plt  # noqa: E402

score = "identification librosa-10s"
rows = figure1[score]
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(rows.index, rows["mean"], yerr=[rows["mean"] - rows["ci_low"],
                                       rows["ci_high"] - rows["mean"]], capsize=4)
ax.axhline(0.5, color="0.3", linestyle="--", label="chance level")
ax.set_ylabel("identification accuracy")
ax.set_title("Fig. 1a analog (95% intervals over clips)")
ax.tick_params(axis="x", labelrotation=20)
ax.legend()
fig.tight_layout()
plt.show()
