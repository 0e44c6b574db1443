"""README.md's Python example runs verbatim and prints what the README says it prints."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "<!-- readme-example:"
PRINTED = re.compile(r"identification (\d\.\d{3}), within genre (\d\.\d{3})")


def _example_and_claim():
    """The code block after the marker, and the two numbers the text after it claims."""
    after = README.read_text(encoding="utf-8").split(MARKER, 1)[1]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    claim = PRINTED.search(after.split("```", 2)[2])
    return code, tuple(float(value) for value in claim.groups())


def test_the_readme_has_one_marked_example_and_a_claim():
    text = README.read_text(encoding="utf-8")
    assert text.count(MARKER) == 1
    code, (plain, within) = _example_and_claim()
    compile(code, "README.md", "exec")
    assert "print(" in code
    assert 0.7 < plain <= 1.0 and 0.0 <= within < plain


@pytest.mark.slow
def test_readme_example_prints_the_numbers_it_claims(tmp_path_factory, monkeypatch, capsys):
    code, (claimed_plain, claimed_within) = _example_and_claim()
    monkeypatch.setenv("SKBRAINMUSIC_DATA", str(tmp_path_factory.mktemp("readme_data")))
    exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    printed = PRINTED.fullmatch(capsys.readouterr().out.strip())
    assert printed is not None
    plain, within = (float(value) for value in printed.groups())
    # Ridge solutions differ in the last bits between BLAS builds: a few clips may flip.
    assert plain == pytest.approx(claimed_plain, abs=0.01)
    assert within == pytest.approx(claimed_within, abs=0.02)
    assert plain > 0.7
