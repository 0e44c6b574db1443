"""``skbrainmusic encode``: voxelwise encoding models of one ds003720 subject.

A ridge model per voxel predicts the windowed responses from the music embedding of
``--embedding`` (one alpha per voxel by cross-validation over clips); held-out correlations
are tested with clip permutations and Benjamini-Hochberg FDR; with ``--captions`` the
variance is partitioned between the audio and the caption embeddings (A.1.8). Brain maps
are written as NIfTI images with BIDS-derivatives names and drawn as brains when the
responses come from NIfTI runs.
"""

import numpy as np

from ..persistence import save_model
from . import _figures as figures
from ._common import CLIError, parallel_context
from ._features import AudioFeatures, CaptionFeatures
from ._real_data import AUDIO_EMBEDDINGS, audio_embedder, load_subject, start_run
from ._report import Section, Table, write_report

STEP = 1.5
Q = 0.05


def _write_maps(out, maps, study, subject, embedding):
    """NIfTI image per map with BIDS-derivatives names; returns (paths, figure paths)."""
    from ..encoding import write_maps

    images = write_maps(maps, study.mask_img, out / "maps", subject=subject, space=study.space,
                        desc=embedding)
    pngs = [figures.voxel_map(maps[name], study.mask_img, out / "figures" / f"map_{name}.png",
                              title=name.replace("_", " "), label=name.replace("_", " "),
                              surface=study.space.startswith("MNI"))
            for name in maps]
    return images, pngs


def run(args):
    """Fit and test the encoding models for parsed ``args`` and write the report."""
    from .. import TemporalWindowAligner
    from ..encoding import (
        VoxelwiseEncoder,
        permutation_test,
        upsample_to_windows,
        variance_partitioning,
    )

    if args.n_permutations < 1:
        raise CLIError(f"--n-permutations must be at least 1, got {args.n_permutations}.")
    progress, paths, out = start_run(args, ("figures", "maps", "models"))
    with parallel_context(args.n_jobs, args.scheduler):
        study = load_subject(args, paths, progress)
        window, analog = AUDIO_EMBEDDINGS[args.embedding]
        progress.log(f"embedding the stimuli ({args.embedding}, {window:g} s windows)")
        features = AudioFeatures(audio_embedder(args, study.sample_rate, study.clip_duration))
        X_train = features.fit_transform(study.audio_train)
        X_test = features.transform(study.audio_test)
        aligner = TemporalWindowAligner(window=window, step=STEP, tr=study.tr,
                                        delay=study.delay, clip_duration=study.clip_duration)
        Y_train = aligner.fit_transform(study.responses_train)
        Y_test = aligner.transform(study.responses_test)

        progress.log(f"fitting the voxelwise encoder ({Y_train.shape[-1]} voxels)")
        encoder = VoxelwiseEncoder().fit(X_train, Y_train, groups=study.cv_groups)
        scores = encoder.voxel_scores(X_test, Y_test)
        progress.log(f"permutation test ({args.n_permutations} permutations of the clips)")
        test = permutation_test(Y_test, encoder.predict(X_test),
                                n_permutations=args.n_permutations, q=Q,
                                random_state=args.random_state)
        maps = {"r": scores, "significant_r": np.where(test.significant, scores, 0.0)}
        partition = None
        if study.captions_train is not None:
            progress.log("variance partitioning: audio vs captions")
            captions = CaptionFeatures(len(study.captions_train), args.random_state)
            n_windows = X_train.shape[1]
            C_train = upsample_to_windows(captions.fit_transform(study.captions_train)[:, 0],
                                          n_windows)
            C_test = upsample_to_windows(captions.transform(study.captions_test)[:, 0],
                                         n_windows)
            partition = variance_partitioning(
                {"audio": X_train, "captions": C_train}, Y_train,
                {"audio": X_test, "captions": C_test}, Y_test, groups=study.cv_groups)
            maps.update({"unique_audio": partition.unique["audio"],
                         "unique_captions": partition.unique["captions"],
                         "shared": partition.shared})

    progress.log("writing maps, figures and the report")
    figure_paths = []
    map_files = {}
    if study.mask_img is not None:
        map_files, figure_paths = _write_maps(out, maps, study, args.subject, args.embedding)
    model_file = save_model(encoder, out / "models" / (
        f"sub-{args.subject:02d}_encoder_{args.embedding}."
        f"{'skops' if args.save_format == 'skops' else 'joblib'}"), format=args.save_format)

    summary = {
        "n_voxels": int(scores.size),
        "mean_r": float(scores.mean()),
        "max_r": float(scores.max()),
        "n_significant": int(test.significant.sum()),
        "fraction_significant": float(test.significant.mean()),
    }
    per_roi = []
    if study.roi_labels is not None:
        labels = np.asarray(study.roi_labels)
        for label in np.unique(labels):
            in_roi = labels == label
            per_roi.append({"roi": study.roi_names.get(int(label), str(label)),
                            "n_voxels": int(in_roi.sum()),
                            "mean_r": float(scores[in_roi].mean()),
                            "fraction_significant": float(test.significant[in_roi].mean())})
        per_roi.sort(key=lambda row: row["mean_r"], reverse=True)
    rows = [["voxels", summary["n_voxels"]], ["mean r", f"{summary['mean_r']:.3f}"],
            ["max r", f"{summary['max_r']:.3f}"],
            [f"significant (FDR q={Q})", f"{summary['n_significant']} "
                                         f"({summary['fraction_significant']:.1%})"]]
    sections = [Section(
        "Encoding model",
        f"Subject {args.subject}, {args.embedding} embedding ({analog}): ridge per voxel, "
        f"scored on the {len(study.clips_test)} test clips; {args.n_permutations} clip "
        "permutations with Benjamini-Hochberg FDR.",
        tables=[Table(["", "value"], rows)]
        + ([Table(["ROI", "voxels", "mean r", "fraction significant"],
                  [[r["roi"], r["n_voxels"], f"{r['mean_r']:.3f}",
                    f"{r['fraction_significant']:.2f}"] for r in per_roi[:15]],
                  caption="The 15 best ROIs by mean held-out r.")] if per_roi else []),
        figures=figure_paths)]
    results = {"command": "encode", "subject": args.subject, "embedding": args.embedding,
               "summary": summary, "per_roi": per_roi, "model": model_file.name,
               "maps": {name: path.name for name, path in map_files.items()}}
    if partition is not None:
        variance = {name: float(np.mean(values)) for name, values in (
            ("joint", partition.joint), ("unique_audio", partition.unique["audio"]),
            ("unique_captions", partition.unique["captions"]), ("shared", partition.shared))}
        results["variance_partitioning_mean_r2"] = variance
        sections.append(Section("Variance partitioning (A.1.8)", tables=[Table(
            ["part", "mean held-out R\u00b2 over voxels"],
            [[name, f"{value:.4f}"] for name, value in variance.items()])]))
    report, _ = write_report(out, f"skbrainmusic encode: subject {args.subject}", sections,
                             results, subtitle=f"embedding {args.embedding}")
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)
