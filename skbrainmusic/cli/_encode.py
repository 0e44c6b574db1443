"""``skbrainmusic encode``: voxelwise encoding models of one ds003720 subject.

Every number comes from :func:`skbrainmusic.experiments.run_encoding`: a ridge model per
voxel predicts the windowed responses from the music embedding of ``--embedding``;
held-out correlations are tested with clip permutations and Benjamini-Hochberg FDR; with
``--captions`` the variance is partitioned between the audio and the caption embeddings
(A.1.8). This module renders the report and writes the brain maps as NIfTI images when the
responses come from the NIfTI runs.
"""

import numpy as np

from ..persistence import save_model
from . import _figures as figures
from ._common import CLIError, parallel_context
from ._output import write_output
from ._real_data import AUDIO_EMBEDDINGS, captions_spec, embedding_spec, load_subject, start_run
from ._report import Section, Table, write_report

Q = 0.05


def _write_maps(out, maps, study, subject, embedding):
    """NIfTI image per map with BIDS-derivatives names, drawn as brains; returns (paths,
    figure paths)."""
    import nibabel as nib

    from ..encoding import map_filename, scores_to_nifti

    images, pngs = {}, []
    for name, values in maps.items():
        image = scores_to_nifti(values, study.mask_img, fill_value=np.nan)
        images[name] = write_output(
            out / "maps" / map_filename(name, subject=subject, space=study.space,
                                        desc=embedding),
            lambda temporary, image=image: nib.save(image, str(temporary)))
        pngs.append(figures.voxel_map(values, study.mask_img,
                                      out / "figures" / f"map_{name}.png",
                                      title=name.replace("_", " "), label=name.replace("_", " "),
                                      surface=study.space.startswith("MNI")))
    return images, pngs


def run(args):
    """Fit and test the encoding models for parsed ``args`` and write the report."""
    from ..experiments import run_encoding

    if args.n_permutations < 1:
        raise CLIError(f"--n-permutations must be at least 1, got {args.n_permutations}.")
    progress, paths, out = start_run(args, ("figures", "maps", "models"))
    with parallel_context(args.n_jobs, args.scheduler):
        study = load_subject(args, paths, progress)
        window, analog = AUDIO_EMBEDDINGS[args.embedding]
        progress.log(f"fitting and testing the voxelwise encoder ({args.embedding}, "
                     f"{window:g} s windows, {args.n_permutations} permutations"
                     + (", variance partitioning audio vs captions" if study.captions_train
                        is not None else "") + ")")
        results = run_encoding(
            study, embedding_spec(args, study),
            captions=None if study.captions_train is None else captions_spec(args, study),
            n_permutations=args.n_permutations, q=Q, random_state=args.random_state)

    progress.log("writing maps, figures and the report")
    figure_paths = []
    map_files = {}
    if getattr(study, "mask_img", None) is not None:
        map_files, pngs = _write_maps(out, results.maps, study, args.subject, args.embedding)
        figure_paths.extend(pngs)
    model_file = write_output(out / "models" / (
        f"sub-{args.subject:02d}_encoder_{args.embedding}."
        f"{'skops' if args.save_format == 'skops' else 'joblib'}"),
        lambda temporary: save_model(results.encoder, temporary, format=args.save_format))

    summary, per_roi = results.summary, results.per_roi
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
    content = {"command": "encode", "subject": args.subject, "embedding": args.embedding,
               "summary": summary, "per_roi": per_roi, "model": model_file.name,
               "maps": {name: path.name for name, path in map_files.items()}}
    variance = results.variance
    if variance is not None:
        content["variance_partitioning_mean_r2"] = variance
        sections.append(Section("Variance partitioning (A.1.8)", tables=[Table(
            ["part", "mean held-out R\u00b2 over voxels"],
            [[name, f"{value:.4f}"] for name, value in variance.items()])]))
    report, _ = write_report(out, f"skbrainmusic encode: subject {args.subject}", sections,
                             content, subtitle=f"embedding {args.embedding}")
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)
