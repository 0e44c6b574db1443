"""Report figures (matplotlib, Agg backend: no display needed). Each function saves one PNG."""

import textwrap
from pathlib import Path

import numpy as np

from ._output import write_output


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    fig.tight_layout()
    write_output(path, lambda temporary: fig.savefig(temporary, dpi=110))
    _pyplot().close(fig)
    return path


def log_mel(waveform, sample_rate, n_mels=64):
    """Log-mel spectrogram in dB, ``(n_mels, n_frames)``."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(waveform, dtype=np.float32), sr=sample_rate, n_mels=n_mels
    )
    return librosa.power_to_db(mel, ref=np.max(mel) if mel.max() > 0 else 1.0)


def spectrogram_grid(rows, sample_rate, path):
    """Fig. A.4 analog: one row per clip, one column per version (stimulus | retrieved | ...).

    ``rows`` is a list of ``(label, {column: waveform})``.
    """
    plt = _pyplot()
    columns = list(dict.fromkeys(name for _, waves in rows for name in waves))
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(3.2 * len(columns), 2.0 * len(rows)), squeeze=False
    )
    for i, (label, waves) in enumerate(rows):
        for j, column in enumerate(columns):
            ax = axes[i, j]
            wave = waves[column]
            ax.imshow(log_mel(wave, sample_rate), origin="lower", aspect="auto",
                      cmap="magma", vmin=-80, vmax=0,
                      extent=(0, len(wave) / sample_rate, 0, 64))
            ax.set_yticks([])
            if i == 0:
                ax.set_title(column)
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("time [s]")
            else:
                ax.set_xticks([])
    return _save(fig, path)


def embedding_pca(true, predicted, genres, path, title):
    """Fig. A.6 analog: PCA (fitted on the true embeddings) of true and predicted ones.

    ``true`` and ``predicted`` are ``(n_clips, d)``; ``genres`` ``(n_clips,)``.
    """
    from sklearn.decomposition import PCA

    plt = _pyplot()
    pca = PCA(n_components=2).fit(true)
    true_2d, pred_2d = pca.transform(true), pca.transform(predicted)
    genres = np.asarray(genres)
    # Own axes per panel: ridge predictions are shrunk towards the mean, and their genre
    # clusters would be invisible at the scale of the true embeddings.
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    cmap = plt.get_cmap("tab10")
    for k, genre in enumerate(np.unique(genres)):
        mask = genres == genre
        for ax, points in zip(axes, (true_2d, pred_2d)):
            ax.scatter(points[mask, 0], points[mask, 1], s=18, color=cmap(k % 10), label=genre)
    axes[0].set_title("true embeddings")
    axes[1].set_title("predicted from fMRI (same PCs, own scale)")
    for ax in axes:
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(title)
    return _save(fig, path)


def grouped_bars(values, path, *, ylabel, title, reference_lines=None, ylim=None):
    """Bars with error bars: ``values[group][series] = {"mean", "std"}``.

    ``reference_lines[group][name] = value`` draws short horizontal lines over each group
    (e.g. chance dashed, oracle dotted, as in Figure 1).
    """
    plt = _pyplot()
    groups = list(values)
    series = list(dict.fromkeys(name for group in groups for name in values[group]))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(groups) * max(len(series), 1) / 2), 3.6))
    x = np.arange(len(groups))
    for k, name in enumerate(series):
        means = [values[g][name]["mean"] if name in values[g] else np.nan for g in groups]
        stds = [values[g][name]["std"] if name in values[g] else 0.0 for g in groups]
        ax.bar(x + (k - (len(series) - 1) / 2) * width, means, width, yerr=stds, capsize=3,
               label=name)
    styles = {"chance": ("--", "0.3"), "oracle": (":", "k")}
    for i, group in enumerate(groups):
        for name, value in (reference_lines or {}).get(group, {}).items():
            style, color = styles.get(name, ("-.", "0.5"))
            ax.hlines(value, i - 0.45, i + 0.45, linestyles=style, colors=color,
                      label=name if i == 0 else None)
    ax.set_xticks(x)
    if len(groups) > 4:
        ax.set_xticklabels(groups, rotation=30, ha="right")
    else:
        ax.set_xticklabels([textwrap.fill(group, 16) for group in groups])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _save(fig, path)


def roi_scores(scores, names, path, *, highlight=(), title):
    """Horizontal bars of the best ROIs' CV scores; ``highlight`` names are drawn darker.

    ``scores`` ``(n_rois,)`` (e.g. mean over subjects), ``names`` ``(n_rois,)``.
    """
    plt = _pyplot()
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores)[::-1][:20]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(order) + 1.2))
    colors = ["#3b6ea5" if names[i] in set(highlight) else "#a9bdd6" for i in order]
    ax.barh(np.arange(len(order)), scores[order], color=colors)
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels([names[i] for i in order], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("cross-validated correlation")
    ax.set_title(title)
    return _save(fig, path)


def roi_brain(scores, rois, roi_labels, mask_img, path, *, title):
    """Every ROI's cross-validated score drawn on the cortex (fsaverage5), as Figure 2b of
    the paper; ``scores`` and ``rois`` as ``ROIEnsembleRidge.roi_scores_`` / ``rois_``."""
    from ..plotting import plot_roi_scores

    _pyplot()
    figure = plot_roi_scores(scores, rois, roi_labels, mask_img, title=title)
    write_output(path, lambda temporary: figure.savefig(temporary, dpi=110))
    _pyplot().close(figure)
    return path


def voxel_map(scores, mask_img, path, *, significant=None, title, surface=True,
              label="held-out Pearson r"):
    """A per-voxel map drawn as a brain (:mod:`skbrainmusic.plotting`), plus an interactive
    viewer page beside the PNG (same name, ``.html``).

    ``surface``: the inflated and flat cortex of fsaverage5 (MNI-space data); otherwise
    slices of the map without background (a subject's own space). Voxels not
    ``significant`` are transparent.
    """
    from ..plotting import plot_stat_map, plot_surface, view_brain

    _pyplot()
    path = Path(path)
    if surface:
        figure = plot_surface(scores, mask_img, significant=significant, title=title,
                              label=label)
    else:
        figure = plot_stat_map(scores, mask_img, significant=significant, title=title,
                               bg_img=None, display_mode="z", cut_coords=8)
    write_output(path, lambda temporary: figure.savefig(temporary, dpi=110))
    _pyplot().close(figure)
    view = view_brain(scores, mask_img, significant=significant, title=title,
                      bg_img="MNI152" if surface else None)
    write_output(path.with_suffix(".html"), lambda temporary: view.save_as_html(temporary))
    return path
