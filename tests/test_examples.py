"""The gallery's fast examples run without error (the docs build runs all of them)."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# The others take up to a minute each; doc/build.sh runs every example.
FAST = ["plot_window_leakage.py", "plot_decoding_pipeline.py", "plot_encoding_permutation.py",
        "plot_experiments.py"]


def test_every_example_is_in_the_gallery_or_a_recipe():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert all(name.startswith(("plot_", "real_data_")) for name in scripts), scripts
    assert set(FAST) <= set(scripts)


@pytest.mark.slow
@pytest.mark.parametrize("name", FAST)
def test_example_runs(name, tmp_path_factory, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_home = tmp_path_factory.getbasetemp() / "examples_data_home"
    monkeypatch.setenv("SKBRAINMUSIC_DATA", str(data_home))
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    plt.close("all")
