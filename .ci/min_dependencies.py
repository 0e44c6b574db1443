"""Print the core dependencies at their minimum versions, one pip requirement a line.

pyproject.toml's ``NAME>=VERSION`` lines are the single source of truth: ``.ci/run`` installs
this output (``NAME==VERSION``; unpinned names as they are) in a separate environment and
runs the quick tests there, and ``tests/test_min_dependencies.py`` checks the pins.

Usage: ``python .ci/min_dependencies.py [pyproject.toml]`` (Python >= 3.11, for tomllib).
"""

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
_REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:>=\s*(?P<version>[0-9][0-9A-Za-z.]*))?")


def minimum_requirements(pyproject=PYPROJECT):
    """``["numpy==1.24", ...]`` from the ``[project] dependencies`` of ``pyproject``.

    A dependency is either unpinned (``packaging``) or pinned from below only
    (``numpy>=1.24``); anything else (upper bounds, extras, markers) is refused, since it
    has no single minimum to install.
    """
    dependencies = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"][
        "dependencies"]
    requirements = []
    for dependency in dependencies:
        match = _REQUIREMENT.fullmatch(dependency.strip())
        if match is None:
            raise ValueError(f"{pyproject}: dependency {dependency!r} is not NAME or "
                             "NAME>=VERSION, so it has no single minimum version to test.")
        name, version = match["name"], match["version"]
        requirements.append(name if version is None else f"{name}=={version}")
    return requirements


if __name__ == "__main__":
    print("\n".join(minimum_requirements(*sys.argv[1:])))
