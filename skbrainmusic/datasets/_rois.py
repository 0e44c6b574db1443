"""Destrieux atlas label names shipped with the package (see data/destrieux_lut.txt)."""

from functools import lru_cache
from pathlib import Path

_LUT = Path(__file__).resolve().parents[1] / "data" / "destrieux_lut.txt"


@lru_cache(maxsize=1)
def destrieux_names():
    """Label id -> name of every Destrieux cortical label (``ctx_lh_*`` and ``ctx_rh_*``).

    Returns
    -------
    names : dict of int to str
        152 entries: ids 11100-11175 (left) and 12100-12175 (right), including the
        ``Unknown`` (k=0) and ``Medial_wall`` (k=42) entries of each hemisphere.

    Examples
    --------
    >>> from skbrainmusic.datasets import destrieux_names
    >>> destrieux_names()[11133]
    'ctx_lh_G_temp_sup-G_T_transv'
    """
    names = {}
    for line in _LUT.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        label, name = line.split()[:2]
        names[int(label)] = name
    return names


def cortical_labels():
    """The 148 real cortical labels (without Unknown and Medial_wall), sorted."""
    return sorted(
        label for label, name in destrieux_names().items()
        if not name.endswith(("_Unknown", "_Medial_wall"))
    )

