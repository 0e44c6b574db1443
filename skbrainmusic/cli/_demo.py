"""``skbrainmusic demo``: the paper end to end on simulated subjects, offline.

Every number comes from :func:`skbrainmusic.experiments.run_demo`; this module checks the
options, sets up the parallel context and hands the results to the report writer.
"""

from ._common import CLIError, Progress, parallel_context, prepare_out_dir


def run(args):
    """Run the demo for parsed command-line ``args`` and write the report."""
    from ..experiments import run_demo
    from ._demo_report import write_demo_report

    if args.n_subjects is not None and args.n_subjects < 1:
        raise CLIError(f"--n-subjects must be at least 1, got {args.n_subjects}.")
    if args.n_jobs == 0:
        raise CLIError("--n-jobs must be a positive number of workers or -1 (all cores), "
                       "not 0.")
    progress = Progress(quiet=args.quiet)
    out = prepare_out_dir(args.out)
    with parallel_context(args.n_jobs, args.scheduler):
        try:
            results = run_demo(args.scale, random_state=args.random_state,
                               n_subjects=args.n_subjects, data_home=args.data_home,
                               progress=progress)
        except ValueError as exc:
            raise CLIError(str(exc).strip().splitlines()[0]) from exc
    progress.log("writing figures, audio, models and the report")
    cli_settings = {"n_jobs": args.n_jobs, "scheduler": args.scheduler,
                    "save_format": args.save_format}
    report = write_demo_report(out, results, cli_settings, elapsed=progress.elapsed())
    progress.log(f"done in {progress.elapsed():.1f} s")
    print(report)
