"""NumPy reference activation functions and their derivatives (HOML ch. 11, "Better Activation Functions").

Every function takes an array-like ``z`` (the pre-activation, i.e. the weighted sum plus bias) and
returns a float64 NumPy array of the same shape. Each ``*_derivative`` is the analytic derivative
dφ/dz, written out so that it can be read next to the formula and checked against
``tf.GradientTape`` (see ``tests/test_activations.py``).

At the kink z = 0 the non-smooth functions follow TensorFlow's gradient convention: ReLU and leaky
ReLU take the slope of the negative side (0 and α), ELU and SELU the ``z >= 0`` branch of Eq. 11-2
(slope 1 and λ).

This module imports only NumPy. The randomized leaky ReLU layer (``RReLU``) needs Keras and lives in
:mod:`tdnn.activation_layers`; ``tdnn.activations.RReLU`` imports it lazily on first access.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tdnn._validate import check_float

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "GELU_SIGMOID_BETA",
    "REFERENCE",
    "sigmoid",
    "sigmoid_derivative",
    "tanh",
    "tanh_derivative",
    "relu",
    "relu_derivative",
    "leaky_relu",
    "leaky_relu_derivative",
    "elu",
    "elu_derivative",
    "selu",
    "selu_derivative",
    "gelu",
    "gelu_derivative",
    "swish",
    "swish_derivative",
    "silu",
    "silu_derivative",
    "mish",
    "mish_derivative",
    "softplus",
    "inactive_unit_fraction",
]

SELU_ALPHA: float = 1.6732632423543772848170429916717
"""SELU's α (Klambauer et al., 2017), the exact constant used by Keras/TensorFlow (≈ 1.6733)."""

SELU_SCALE: float = 1.0507009873554804934193349852946
"""SELU's scale λ (Klambauer et al., 2017), the exact constant used by Keras/TensorFlow (≈ 1.0507)."""

GELU_SIGMOID_BETA: float = 1.702
"""GELU(z) ≈ z σ(1.702 z) = Swish_β(z) with β = 1.702 (HOML ch. 11, "GELU, Swish, and Mish")."""

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715
_erf = np.frompyfunc(math.erf, 1, 1)


def _as_z(z: Any) -> np.ndarray:
    """``z`` as a float64 array, or a ``TypeError`` naming ``z``."""
    if isinstance(z, (str, bytes)):
        raise TypeError(f"z must be a number or an array of numbers, got {type(z).__name__}")
    try:
        arr = np.asarray(z)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise TypeError(f"z must be a number or an array of numbers ({exc})") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"z must be a number or an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _check_alpha(alpha: Any, *, max_value: float | None = None) -> float:
    return check_float("alpha", alpha, min_value=0.0, max_value=max_value)


# --- sigmoid and tanh -------------------------------------------------------------------------------


def sigmoid(z: Any) -> np.ndarray:
    """The logistic function σ(z) = 1 / (1 + exp(−z)) (HOML ch. 10-11; Glorot & Bengio, 2010).

    Computed as exp(−|z|)-based branches so that no overflow occurs for large |z|.
    """
    z = _as_z(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z: Any) -> np.ndarray:
    """σ'(z) = σ(z)(1 − σ(z)): at most 0.25 (at z = 0), which is why deep sigmoid nets' gradients vanish."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: Any) -> np.ndarray:
    """The hyperbolic tangent tanh(z) = 2σ(2z) − 1: like σ, but zero-centred with outputs in (−1, 1)."""
    return np.tanh(_as_z(z))


def tanh_derivative(z: Any) -> np.ndarray:
    """tanh'(z) = 1 − tanh²(z): at most 1 (at z = 0)."""
    t = np.tanh(_as_z(z))
    return 1.0 - t * t


# --- ReLU family ------------------------------------------------------------------------------------


def relu(z: Any) -> np.ndarray:
    """ReLU(z) = max(z, 0) (HOML ch. 11, "Better Activation Functions")."""
    return np.maximum(_as_z(z), 0.0)


def relu_derivative(z: Any) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0 (0 at z = 0, as TensorFlow's gradient). A unit whose z < 0 for
    every input gets no gradient at all: a dead ReLU."""
    return (_as_z(z) > 0).astype(np.float64)


def leaky_relu(z: Any, alpha: float = 0.01) -> np.ndarray:
    """LeakyReLU_α(z) = max(αz, z) with 0 ≤ α ≤ 1 (HOML ch. 11, "Leaky ReLU"; Xu et al., 2015).

    The book compares α = 0.01 (a small leak) and α = 0.2 (a huge leak, better in Xu et al.). Keras'
    defaults differ: ``keras.layers.LeakyReLU`` uses ``negative_slope=0.3``,
    ``keras.activations.leaky_relu`` (the ``"leaky_relu"`` string) 0.2.
    """
    alpha = _check_alpha(alpha, max_value=1.0)
    z = _as_z(z)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_derivative(z: Any, alpha: float = 0.01) -> np.ndarray:
    """LeakyReLU_α'(z) = 1 if z > 0 else α (α at z = 0, as TensorFlow): never exactly 0 when α > 0."""
    alpha = _check_alpha(alpha, max_value=1.0)
    return np.where(_as_z(z) > 0, 1.0, alpha)


def elu(z: Any, alpha: float = 1.0) -> np.ndarray:
    """ELU_α(z) = α(exp(z) − 1) if z < 0, z if z ≥ 0 (Eq. 11-2; Clevert et al., 2015). α ≥ 0."""
    alpha = _check_alpha(alpha)
    z = _as_z(z)
    return np.where(z < 0, alpha * np.expm1(np.minimum(z, 0.0)), z)


def elu_derivative(z: Any, alpha: float = 1.0) -> np.ndarray:
    """ELU_α'(z) = α exp(z) if z < 0, 1 if z ≥ 0 (smooth at 0 only when α = 1)."""
    alpha = _check_alpha(alpha)
    z = _as_z(z)
    return np.where(z < 0, alpha * np.exp(np.minimum(z, 0.0)), 1.0)


def selu(z: Any) -> np.ndarray:
    """SELU(z) = λ · ELU_α(z) with α = :data:`SELU_ALPHA` ≈ 1.6733, λ = :data:`SELU_SCALE` ≈ 1.0507.

    HOML ch. 11, "ELU and SELU" (Klambauer et al., 2017): with these constants, standardized inputs
    and LeCun-normal weights, a stack of dense SELU layers keeps mean ≈ 0 and std ≈ 1 per layer.
    """
    return SELU_SCALE * elu(z, SELU_ALPHA)


def selu_derivative(z: Any) -> np.ndarray:
    """SELU'(z) = λα exp(z) if z < 0, λ if z ≥ 0."""
    return SELU_SCALE * elu_derivative(z, SELU_ALPHA)


# --- GELU, Swish/SiLU, Mish -------------------------------------------------------------------------


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.asarray(_erf(z / _SQRT_2), dtype=np.float64))


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def gelu(z: Any, approximate: bool = False) -> np.ndarray:
    """GELU(z) = z Φ(z) = ½ z (1 + erf(z / √2)) (Eq. 11-3 of the 3rd edition; Hendrycks & Gimpel, 2016).

    ``approximate=True`` gives the tanh approximation ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))).
    Keras defaults differ: ``keras.activations.gelu`` (the ``"gelu"`` string) is exact
    (``approximate=False``), while ``keras.ops.gelu`` defaults to ``approximate=True``.
    The book's cheaper approximation z σ(1.702 z) is ``swish(z, beta=GELU_SIGMOID_BETA)``.
    """
    if not isinstance(approximate, bool):
        raise TypeError(f"approximate must be a bool, got {type(approximate).__name__}")
    z = _as_z(z)
    if approximate:
        return 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + _GELU_TANH_C * z**3)))
    return z * _normal_cdf(z)


def gelu_derivative(z: Any, approximate: bool = False) -> np.ndarray:
    """GELU'(z) = Φ(z) + z φ(z) (φ: standard normal density), or the derivative of the tanh form."""
    if not isinstance(approximate, bool):
        raise TypeError(f"approximate must be a bool, got {type(approximate).__name__}")
    z = _as_z(z)
    if approximate:
        t = np.tanh(_SQRT_2_OVER_PI * (z + _GELU_TANH_C * z**3))
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * z * z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du
    return _normal_cdf(z) + z * _normal_pdf(z)


def swish(z: Any, beta: float = 1.0) -> np.ndarray:
    """Swish_β(z) = z σ(βz) (Ramachandran et al., 2017); β = 1 is SiLU (Hendrycks & Gimpel, 2016).

    Keras' ``"swish"`` and ``"silu"`` are the same function, with β = 1 (no β argument).
    """
    beta = check_float("beta", beta)
    z = _as_z(z)
    return z * sigmoid(beta * z)


def swish_derivative(z: Any, beta: float = 1.0) -> np.ndarray:
    """Swish_β'(z) = σ(βz) + βz σ(βz)(1 − σ(βz))."""
    beta = check_float("beta", beta)
    z = _as_z(z)
    s = sigmoid(beta * z)
    return s + beta * z * s * (1.0 - s)


def silu(z: Any) -> np.ndarray:
    """SiLU(z) = z σ(z) = Swish with β = 1."""
    return swish(z, 1.0)


def silu_derivative(z: Any) -> np.ndarray:
    """SiLU'(z) = σ(z)(1 + z(1 − σ(z)))."""
    return swish_derivative(z, 1.0)


def softplus(z: Any) -> np.ndarray:
    """softplus(z) = log(1 + exp(z)), used by Mish (HOML ch. 11), computed without overflow via ``np.logaddexp``."""
    return np.logaddexp(0.0, _as_z(z))


def mish(z: Any) -> np.ndarray:
    """Mish(z) = z tanh(softplus(z)) (Misra, 2019; HOML ch. 11, "GELU, Swish, and Mish")."""
    z = _as_z(z)
    return z * np.tanh(softplus(z))


def mish_derivative(z: Any) -> np.ndarray:
    """Mish'(z) = tanh(sp(z)) + z (1 − tanh²(sp(z))) σ(z), with sp = softplus."""
    z = _as_z(z)
    t = np.tanh(softplus(z))
    return t + z * (1.0 - t * t) * sigmoid(z)


REFERENCE: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "elu": (elu, elu_derivative),
    "selu": (selu, selu_derivative),
    "gelu": (gelu, gelu_derivative),
    "swish": (swish, swish_derivative),
    "mish": (mish, mish_derivative),
}
"""Name → (function, derivative) for every activation of this module (default parameters)."""


# --- measurements -----------------------------------------------------------------------------------


def inactive_unit_fraction(outputs: Any) -> float:
    """Fraction of units (columns) whose output is ≤ 0 for *every* example (row) of ``outputs``.

    For ReLU this is the fraction of dead units (output exactly 0 everywhere, hence zero gradient:
    HOML ch. 11, "dying ReLUs"). For leaky ReLU, ELU or SELU the same test counts units whose
    pre-activation is negative for every input: they are "in a coma" rather than dead, because
    their gradient (α, or α exp(z)) is not 0, so they can still wake up.

    Args:
        outputs: a 2-D array (examples × units) of one layer's activations, e.g. an element of
            ``tdnn.diagnostics.layer_outputs(model, x)``; extra trailing axes are flattened.
    """
    arr = np.asarray(outputs)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"outputs must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"outputs must be a non-empty (examples, units) array, got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    return float(np.mean(np.all(arr <= 0, axis=0)))


def __getattr__(name: str) -> Any:
    """Lazy access to the Keras layers of :mod:`tdnn.activation_layers` (imports TensorFlow)."""
    if name == "RReLU":
        from tdnn.activation_layers import RReLU

        return RReLU
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
