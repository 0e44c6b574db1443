"""The dependency pins are consistent (after sklearn's test_min_dependencies_readme).

pyproject.toml is the single source of truth: every third-party module the package imports
is declared there (or is an optional extra / named below), every core dependency has a
lower bound with a comment saying why, and ``.ci/run`` installs exactly those minimums
through ``.ci/min_dependencies.py`` to run the quick tests on them. Only optional
third-party packages may be skipped when missing, never a module of skbrainmusic.
"""

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

# The standard library's TOML reader is new in Python 3.11 (CI runs 3.11).
tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
# Imported by the package but deliberately not a declared dependency, with the reason.
UNDECLARED = {
    "tinysoundfont": "installed with pip install --no-deps (README): it declares pyaudio",
    "tqdm": "only AudioEmbedder(progress=True) needs it; the ImportError names it",
}
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "faiss": "faiss-cpu"}
UNPINNED = {"packaging": "himalaya imports it without declaring it; any version"}


def _load_script():
    spec = importlib.util.spec_from_file_location("min_dependencies",
                                                  REPO / ".ci" / "min_dependencies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _name(requirement):
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _project():
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]


def _imported_modules():
    modules = set()
    for path in (REPO / "skbrainmusic").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {module for module in modules
            if module not in sys.stdlib_module_names and module != "skbrainmusic"}


def test_every_imported_module_is_declared():
    project = _project()
    declared = {_name(requirement) for requirement in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared.update(_name(requirement) for requirement in extra)
    imported = {DISTRIBUTIONS.get(module, module).replace("_", "-")
                for module in _imported_modules()}
    assert imported - declared - set(UNDECLARED) == set()
    # No stale exceptions: each undeclared name is imported and indeed not declared.
    assert set(UNDECLARED) <= imported - declared


def test_every_core_dependency_has_a_lower_bound_and_a_reason():
    lines = PYPROJECT.read_text(encoding="utf-8").splitlines()
    for requirement in _project()["dependencies"]:
        line = next(line for line in lines if line.strip().startswith(f'"{requirement}"'))
        assert re.search(r"#\s*\S.{15,}", line), f"{requirement}: say why, in a comment"
        if _name(requirement) not in UNPINNED:
            assert ">=" in requirement, f"{requirement}: give its minimum version"


def test_min_dependencies_script_reads_the_pins(tmp_path):
    script = _load_script()
    requirements = script.minimum_requirements()
    assert len(requirements) == len(_project()["dependencies"])
    for requirement, pinned in zip(requirements, _project()["dependencies"]):
        name, _, version = pinned.partition(">=")
        assert requirement == (f"{name}=={version}" if version else name)
    assert "scipy==1.13.1" in requirements  # false_discovery_control, 1x1 eigh
    upper = tmp_path / "pyproject.toml"
    upper.write_text('[project]\ndependencies = ["numpy>=1.24,<3"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no single minimum"):
        script.minimum_requirements(upper)


def test_ci_installs_the_minimums_from_the_script():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python .ci/min_dependencies.py" in ci
    assert '"${minimums[@]}"' in ci
    # The same ruff range in CI and in the pre-commit hook.
    hook = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    rev = re.search(r"ruff-pre-commit\s+rev:\s*v(\S+)", hook)[1]
    low, high = re.search(r'"ruff>=(\S+),<(\S+)"', ci).groups()
    major, minor, _ = rev.split(".")
    assert (low, high) == (rev, f"{major}.{int(minor) + 1}")


def test_tests_never_skip_our_own_modules():
    # A module of ours that fails to import is a bug to see, not a test to skip: every
    # importorskip names a third-party module, literally.
    offending = []
    for path in (REPO / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "importorskip"
                    and not (isinstance(node.args[0], ast.Constant)
                             and not node.args[0].value.startswith("skbrainmusic"))):
                offending.append(f"{path.name}:{node.lineno}")
    assert offending == []
