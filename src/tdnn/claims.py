"""Claim checks: the lesson of a *measured* output, verified on every execution.

Float32 TensorFlow results change in their last digits from one CPU to another (oneDNN picks its
kernels by instruction set and cache size, and the order of float32 additions changes with them), so
a training metric, a divergence step or a speed ratio cannot be compared digit for digit with the
stored output. Such cells carry nbval's ``nbval-ignore-output`` tag, and the lesson the prose draws
from them is checked in code instead, on every machine and every execution::

    from tdnn.claims import claim

    claim("clipping keeps every run finite (5/5 seeds)", n_finite == 5, measured=f"{n_finite}/5")

On success :func:`claim` prints one line, ``✓ <statement>``, that is the same on every machine (so
nbval compares it strictly when the check sits in a cell of its own). On failure it raises
:class:`ClaimError`, naming the claim and the value measured in this run. Margins belong in the
statement ("at least 3× faster", "below 0.1"), justified in the prose by the spread measured over
seeds; the measured value belongs in ``measured``, never in the statement.

A test (``tests/test_notebook_claims.py``) enforces the convention: every cell that ignores its
output holds a claim check, or is directly followed by a cell that does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["ClaimError", "claim", "format_measured"]


class ClaimError(AssertionError):
    """A lesson the notebook states did not hold in this run (the message names claim and value)."""


def format_measured(value: Any, digits: int = 4) -> str:
    """Format a measured value for a claim's message: floats to ``digits`` significant digits.

    Sequences and mappings are formatted element by element, so ``[0.12345678, 2.0]`` reads
    ``[0.1235, 2]``; other objects use ``str``.
    """
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(value) if not math.isfinite(value) else f"{value:.{digits}g}"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {format_measured(v, digits)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return "[" + ", ".join(format_measured(v, digits) for v in value) + "]"
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # NumPy arrays and scalars
        return format_measured(value.tolist(), digits)
    return str(value)


def claim(statement: str, holds: Any, measured: Any = None) -> None:
    """Check one lesson of a measured output; print ``✓ statement`` or raise :class:`ClaimError`.

    Parameters
    ----------
    statement:
        The claim as the prose makes it, with its margin ("BN reaches 80 % at least 2 epochs
        sooner for 5/5 seeds"). It is printed on success, so it must not contain measured digits.
    holds:
        Whether the claim held in this run: a Python or NumPy boolean (not an array, not a number).
    measured:
        What was measured, shown in the failure message (a number, a list over seeds, a dict...).
    """
    if not isinstance(statement, str) or not statement.strip():
        raise TypeError(f"statement must be a non-empty string, got {statement!r}")
    if not isinstance(holds, bool):
        if isinstance(holds, np.bool_):
            holds = bool(holds)
        else:
            raise TypeError(
                f"holds must be a bool (the outcome of the check), got {type(holds).__name__}; "
                "reduce an array with .all() or .any() first"
            )
    if not holds:
        raise ClaimError(
            f"claim failed: {statement.strip()} (measured in this run: {format_measured(measured)})"
        )
    print(f"✓ {statement.strip()}")
