"""Glorot, He and LeCun initialization (HOML ch. 11, "Glorot and He Initialization", Table 11-1).

Glorot & Bengio (2010) argue that a layer should keep the variance of the signal the same on the way
forward (outputs vs inputs) and on the way back (gradients). A Dense layer with ``fan_in`` inputs
and ``fan_out`` units computes ``z = Σ_i w_i x_i``; with independent zero-mean weights of variance
σ², ``Var(z) = fan_in · σ² · E[x²]``. Keeping it equal to the input's variance asks for σ² = 1/fan_in
(forward) and σ² = 1/fan_out (backward); Eq. 11-1 compromises with ``fan_avg = (fan_in + fan_out)/2``:

    σ² = 1 / fan_avg    (normal),      r = √(3 / fan_avg)    (uniform on [-r, r]).

Table 11-1 lists the variants:

============== ===================================================== ============
Initialization Activation functions                                  σ² (normal)
============== ===================================================== ============
Glorot         None, tanh, sigmoid, softmax                          1 / fan_avg
He             ReLU, Leaky ReLU, ELU, GELU, Swish, Mish              2 / fan_in
LeCun          SELU                                                  1 / fan_in
============== ===================================================== ============

A uniform distribution on [-r, r] has variance r²/3, hence the uniform limit r = √(3σ²) with the same
variance. Keras implements all of them with ``keras.initializers.VarianceScaling(scale, mode,
distribution)``: σ² = scale / n with n = fan_in, fan_out or fan_avg (``mode``).

Keras' ``*_normal`` initializers draw from a *truncated* normal (values beyond 2 standard deviations
are re-drawn). Truncation shrinks the standard deviation by the factor
:func:`truncated_normal_std_factor` ≈ 0.8796, so Keras divides the requested σ by that factor first
(``stddev = sqrt(scale / n) / .87962566103423978`` in ``VarianceScaling.__call__``): the weights then
have standard deviation σ, and none is larger than 2σ/0.8796 ≈ 2.27σ in magnitude.

Everything here is plain Python/NumPy: importing it does not import TensorFlow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tdnn._validate import check_choice, check_float, check_int

__all__ = [
    "DISTRIBUTIONS",
    "INITIALIZATIONS",
    "KERAS_INITIALIZERS",
    "MODES",
    "TRUNCATION_BOUND",
    "fan_avg",
    "fan_in_fan_out",
    "glorot_variance",
    "he_variance",
    "init_limit",
    "init_std",
    "init_variance",
    "lecun_variance",
    "gaussian_expectation",
    "mean_field",
    "sampler_std",
    "scaled_variance",
    "table_11_1",
    "truncated_normal_std_factor",
    "uniform_limit",
]

MODES = ("fan_in", "fan_out", "fan_avg")
"""The ``mode`` values of ``keras.initializers.VarianceScaling``: which fan divides ``scale``."""

DISTRIBUTIONS = ("normal", "untruncated_normal", "truncated_normal", "uniform")
"""Distributions understood here. ``"normal"`` is the book's (and mathematics') normal distribution,
i.e. Keras' ``"untruncated_normal"``. Beware: Keras' ``VarianceScaling`` maps ``"normal"`` to
``"truncated_normal"``, and its ``*_normal`` initializers are truncated."""

TRUNCATION_BOUND = 2.0
"""Keras' (and TensorFlow's) truncated normal re-draws values beyond 2 standard deviations."""

INITIALIZATIONS: dict[str, dict[str, Any]] = {
    "glorot": {
        "scale": 1.0,
        "mode": "fan_avg",
        "activations": ("None", "tanh", "sigmoid", "softmax"),
        "variance": "1 / fan_avg",
    },
    "he": {
        "scale": 2.0,
        "mode": "fan_in",
        "activations": ("ReLU", "Leaky ReLU", "ELU", "GELU", "Swish", "Mish"),
        "variance": "2 / fan_in",
    },
    "lecun": {
        "scale": 1.0,
        "mode": "fan_in",
        "activations": ("SELU",),
        "variance": "1 / fan_in",
    },
}
"""Table 11-1: for each initialization, its ``VarianceScaling`` scale and mode, and its activations."""

_ALIASES = {"xavier": "glorot"}

KERAS_INITIALIZERS: dict[str, tuple[str, str]] = {
    "glorot_normal": ("glorot", "truncated_normal"),
    "glorot_uniform": ("glorot", "uniform"),
    "he_normal": ("he", "truncated_normal"),
    "he_uniform": ("he", "uniform"),
    "lecun_normal": ("lecun", "truncated_normal"),
    "lecun_uniform": ("lecun", "uniform"),
}
"""Keras' built-in initializer names -> (Table 11-1 initialization, distribution actually sampled)."""


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'glorot', 'he' or 'lecun', got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    return check_choice("name", key, INITIALIZATIONS)


def _check_fans(fan_in: Any, fan_out: Any) -> tuple[int, int]:
    return check_int("fan_in", fan_in, min_value=1), check_int("fan_out", fan_out, min_value=1)


def _check_variance(variance: Any) -> float:
    return check_float("variance", variance, min_value=0.0, min_inclusive=False)


def fan_in_fan_out(shape: Iterable[int]) -> tuple[int, int]:
    """The fan-in and fan-out of a kernel of shape ``shape`` (HOML ch. 11, Eq. 11-1).

    A Dense kernel has shape ``(fan_in, fan_out)``: one row per input, one column per unit. For a
    convolution kernel ``(*receptive_field, in_channels, out_channels)`` both fans are multiplied by
    the receptive field's size; a 1-D shape ``(n,)`` has fan_in = fan_out = n. Same rules as Keras'
    ``compute_fans`` (which also accepts a scalar shape; here a kernel needs at least one axis).
    ``shape`` can be a tuple, a list or a ``TensorShape`` (e.g. ``layer.kernel.shape``).
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise TypeError(f"shape must be a sequence of ints such as (784, 300), got {type(shape).__name__}")
    dims = [check_int(f"shape[{i}]", d, min_value=1) for i, d in enumerate(tuple(shape))]
    if not dims:
        raise ValueError("shape must have at least one axis, got ()")
    if len(dims) == 1:
        return dims[0], dims[0]
    receptive_field = math.prod(dims[:-2])
    return dims[-2] * receptive_field, dims[-1] * receptive_field


def fan_avg(fan_in: int, fan_out: int) -> float:
    """``fan_avg = (fan_in + fan_out) / 2``, the compromise of Eq. 11-1 (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    return (fan_in + fan_out) / 2


def scaled_variance(scale: float, mode: str, fan_in: int, fan_out: int) -> float:
    """σ² = scale / n, with n = fan_in, fan_out or fan_avg: ``keras.initializers.VarianceScaling``.

    ``scaled_variance(1, "fan_avg", ...)`` is Glorot (Eq. 11-1), ``scaled_variance(2, "fan_in", ...)``
    He, ``scaled_variance(1, "fan_in", ...)`` LeCun (Table 11-1). The book's "He initialization
    based on fan_avg" is ``scaled_variance(2, "fan_avg", ...)``.
    """
    scale = check_float("scale", scale, min_value=0.0, min_inclusive=False)
    check_choice("mode", mode, MODES)
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / n


def init_variance(name: str, fan_in: int, fan_out: int) -> float:
    """The weights' variance σ² for initialization ``name`` (``"glorot"``, ``"he"``, ``"lecun"``): Table 11-1.

    Glorot: 1/fan_avg (Eq. 11-1; ``"xavier"`` is accepted as an alias); He: 2/fan_in; LeCun: 1/fan_in.
    """
    entry = INITIALIZATIONS[_check_name(name)]
    return scaled_variance(entry["scale"], entry["mode"], fan_in, fan_out)


def glorot_variance(fan_in: int, fan_out: int) -> float:
    """Glorot (Xavier) initialization, Eq. 11-1: σ² = 1 / fan_avg, fan_avg = (fan_in + fan_out) / 2."""
    return init_variance("glorot", fan_in, fan_out)


def he_variance(fan_in: int) -> float:
    """He initialization (He et al., 2015), Table 11-1: σ² = 2 / fan_in (for ReLU and its variants)."""
    fan_in = check_int("fan_in", fan_in, min_value=1)
    return init_variance("he", fan_in, 1)


def lecun_variance(fan_in: int) -> float:
    """LeCun initialization (LeCun et al., 1998), Table 11-1: σ² = 1 / fan_in (for SELU)."""
    fan_in = check_int("fan_in", fan_in, min_value=1)
    return init_variance("lecun", fan_in, 1)


def uniform_limit(variance: float) -> float:
    """The limit r of the uniform distribution on [-r, r] with variance σ²: r = √(3σ²) (ch. 11, Eq. 11-1).

    (The uniform distribution on [-r, r] has variance r²/3.)
    """
    return math.sqrt(3.0 * _check_variance(variance))


def truncated_normal_std_factor(bound: float = TRUNCATION_BOUND) -> float:
    """Standard deviation of a standard normal truncated to [-bound, bound]: ≈ 0.87962566 for bound 2.

    For Z ~ N(0, 1) conditioned on |Z| ≤ b, with φ the standard normal density and Φ its CDF,

        Var(Z | |Z| ≤ b) = 1 − 2 b φ(b) / (Φ(b) − Φ(−b)),   Φ(b) − Φ(−b) = erf(b / √2).

    Keras' truncated normal initializers re-draw values beyond 2 standard deviations, which shrinks
    the standard deviation by this factor; ``VarianceScaling`` therefore divides σ by
    ``.87962566103423978`` (this function's value for bound = 2) before sampling.
    """
    b = check_float("bound", bound, min_value=0.0, min_inclusive=False)
    density = math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(b / math.sqrt(2))
    return math.sqrt(1.0 - 2.0 * b * density / mass)


def sampler_std(variance: float, distribution: str = "normal") -> float:
    """The ``stddev`` to sample from so that the *weights* end up with variance σ² (Table 11-1).

    - ``"normal"`` / ``"untruncated_normal"``: σ = √σ² (``keras.initializers.RandomNormal(stddev=σ)``).
    - ``"truncated_normal"``: σ / :func:`truncated_normal_std_factor` ≈ 1.137 σ, the parameter Keras
      passes to its 2-standard-deviation truncated normal; truncation brings the weights' standard
      deviation back to σ.
    - ``"uniform"``: σ, the standard deviation of U(-r, r) with r = :func:`uniform_limit` (the sampler
      itself takes the limit r, not σ).
    """
    variance = _check_variance(variance)
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    std = math.sqrt(variance)
    if distribution == "truncated_normal":
        return std / truncated_normal_std_factor(TRUNCATION_BOUND)
    return std


def init_std(name: str, fan_in: int, fan_out: int, distribution: str = "normal") -> float:
    """The σ to sample with for initialization ``name`` and ``distribution`` (Table 11-1).

    For ``"normal"`` (the book's, untruncated) and ``"uniform"`` this is the weights' standard deviation
    √σ² (e.g. He: √(2/fan_in)). For ``"truncated_normal"``, which is what Keras' ``he_normal``,
    ``glorot_normal`` and ``lecun_normal`` sample, it is the pre-truncation parameter
    √σ² / 0.8796 (see :func:`sampler_std`); the weights' standard deviation is still √σ².
    """
    return sampler_std(init_variance(name, fan_in, fan_out), distribution)


def init_limit(name: str, fan_in: int, fan_out: int) -> float:
    """The uniform limit r = √(3σ²) of initialization ``name``: weights ~ U(-r, r) (Table 11-1).

    Glorot: √(3 / fan_avg) = √(6 / (fan_in + fan_out)); He: √(6 / fan_in); LeCun: √(3 / fan_in).
    """
    return uniform_limit(init_variance(name, fan_in, fan_out))


def table_11_1(fan_in: int | None = None, fan_out: int | None = None) -> pd.DataFrame:
    """Table 11-1 as a DataFrame: initialization, activation functions, σ² (normal).

    With ``fan_in`` and ``fan_out`` it adds the numbers for that kernel: σ², σ (normal), the uniform
    limit r, and Keras' truncated-normal ``stddev`` parameter.
    """
    if (fan_in is None) != (fan_out is None):
        raise ValueError("fan_in and fan_out must be given together (or neither)")
    rows = []
    for name, entry in INITIALIZATIONS.items():
        row: dict[str, Any] = {
            "initialization": {"glorot": "Glorot", "he": "He", "lecun": "LeCun"}[name],
            "activation functions": ", ".join(entry["activations"]),
            "σ² (normal)": entry["variance"],
        }
        if fan_in is not None:
            variance = init_variance(name, fan_in, fan_out)  # type: ignore[arg-type]
            row["σ²"] = variance
            row["σ"] = math.sqrt(variance)
            row["uniform limit r"] = uniform_limit(variance)
            row["Keras truncated stddev"] = sampler_std(variance, "truncated_normal")
        rows.append(row)
    return pd.DataFrame(rows).set_index("initialization")


# --- the variance argument, layer after layer ------------------------------------------------------

_HERMITE_POINTS = 200  # even: no node at z = 0, where ReLU's derivative is a convention


@functools.lru_cache(maxsize=1)
def _hermite_rule() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and normalized weights of the probabilists' Gauss–Hermite rule (computed once)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(_HERMITE_POINTS)
    return nodes, weights / weights.sum()


def gaussian_expectation(f: Any, variance: float) -> float:
    """E[f(z)] for z ~ N(0, variance), by Gauss–Hermite quadrature (200 nodes, float64).

    The building block of the variance argument behind Eq. 11-1: with ``variance`` the variance of
    a layer's pre-activations, ``f = φ²`` gives the second moment its outputs pass on, and
    ``f = φ′²`` the factor their derivatives apply to the gradients.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable applied to a NumPy array, got {type(f).__name__}")
    variance = check_float("variance", variance, min_value=0.0)
    nodes, weights = _hermite_rule()
    values = np.asarray(f(math.sqrt(variance) * nodes), dtype=np.float64)
    if values.shape != nodes.shape:
        raise ValueError(f"f must return one value per input, got shape {values.shape}")
    return float(np.dot(weights, values))


def mean_field(
    activation: str,
    weight_variance: float,
    *,
    fan: int = 100,
    depth: int = 30,
    first_variance: float = 1.0,
) -> pd.DataFrame:
    """The variance argument of Glorot & Bengio (2010) applied layer by layer, in expectation.

    A stack of ``depth`` Dense layers of ``fan`` units (fan_in = fan_out = ``fan``), zero biases and
    independent zero-mean weights of variance σ² = ``weight_variance``; layer 1's pre-activations z
    have variance ``first_variance``. Treating each layer's z as N(0, Var[z]) (a wide-layer
    approximation), forward

        Var[z⁽ˡ⁺¹⁾] = fan · σ² · E[φ(z⁽ˡ⁾)²],

    and backward, the error signal δ = ∂L/∂z has its root mean square multiplied, per layer, by

        gain⁽ˡ⁾ = √(fan · σ² · E[φ′(z⁽ˡ⁾)²])   (≈ √fan · σ · E[φ′] when φ′ barely varies).

    ``activation`` names a function of :data:`tdnn.activations.REFERENCE` ("sigmoid", "tanh",
    "relu", ...). Returns one row per layer: ``Var[z]``, ``E[φ′(z)²]`` and ``gain`` (the factor
    applied to δ on its way down *into* that layer from the layer above).
    """
    from tdnn.activations import REFERENCE

    activation = check_choice("activation", activation, REFERENCE)
    weight_variance = check_float("weight_variance", weight_variance, min_value=0.0, min_inclusive=False)
    fan = check_int("fan", fan, min_value=1)
    depth = check_int("depth", depth, min_value=1)
    variance = check_float("first_variance", first_variance, min_value=0.0)
    phi, dphi = REFERENCE[activation]
    rows = []
    for layer in range(1, depth + 1):
        slope2 = gaussian_expectation(lambda z: dphi(z) ** 2, variance)
        rows.append(
            {
                "layer": layer,
                "Var[z]": variance,
                "E[φ′(z)²]": slope2,
                "gain": math.sqrt(fan * weight_variance * slope2),
            }
        )
        variance = fan * weight_variance * gaussian_expectation(lambda z: phi(z) ** 2, variance)
    return pd.DataFrame(rows).set_index("layer")
