"""Scale-robust arithmetic shared by the solvers and the metrics.

Squares of values beyond about 1e19 overflow float32 (1e154 in float64) and squares of tiny
values underflow, which silently turned correlations into 0 or NaN. Dividing by a power of
two changes only exponents, so it is exact: data are brought near 1 where needed, and the
result is mapped back (or, for scale-free quantities such as correlations, used as is).
"""

import numpy as np

# Magnitudes beyond which data are rescaled: far from float32's limits (squares of 2^40,
# summed over 10^7 rows, stay below 3.4e38), and never reached by z-scored or raw fMRI.
SAFE_MAGNITUDE = 2.0**40


def power_of_two_scale(values, axis=None, keepdims=False):
    """Power of two near the largest magnitude of ``values`` (along ``axis``), or 1 where that
    magnitude is within [2^-40, 2^40] or zero. Never copies ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic._numeric import power_of_two_scale
    >>> power_of_two_scale(np.array([[3.0, 1e30], [-2.0, 1e-30]]), axis=0).tolist()
    [1.0, 1.2676506002282294e+30]
    """
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return np.ones(np.max(values, axis=axis, keepdims=keepdims).shape)
    peak = np.maximum(np.asarray(values.max(axis=axis, keepdims=keepdims), dtype=np.float64),
                      -np.asarray(values.min(axis=axis, keepdims=keepdims), dtype=np.float64))
    _, exponent = np.frexp(peak)
    outside = (peak > SAFE_MAGNITUDE) | ((peak > 0) & (peak < 1 / SAFE_MAGNITUDE))
    return np.where(outside, np.ldexp(1.0, exponent), 1.0)


def rescaled(values, axis=None):
    """``values`` divided by :func:`power_of_two_scale` along ``axis`` (``values`` itself,
    not a copy, when no rescaling is needed)."""
    scale = power_of_two_scale(values, axis=axis, keepdims=True)
    return values if np.all(scale == 1.0) else values / scale
