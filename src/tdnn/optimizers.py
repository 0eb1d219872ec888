"""Faster optimizers from scratch (HOML ch. 11, "Faster Optimizers"): NumPy float64 update rules.

Each optimizer is a small class whose ``step(theta, grad)`` returns the new parameters and keeps its
own state (moment estimates, step counter) between calls, one instance per parameter tensor::

    opt = Adam(learning_rate=0.001)
    for _ in range(100):
        theta = opt.step(theta, gradient(theta))

The update rules are written the way **Keras 3** computes them (``keras/src/optimizers/*.py``), so
that they match ``keras.optimizers.*`` step for step (``tests/test_optimizers.py``). Where Keras'
formula differs from the book's equation, the class docstring says how, and the book's form is
available too (``Nesterov.lookahead`` + :func:`nesterov_book_step`, ``Adam(epsilon_inside=True)``,
``Nadam(momentum_schedule="paper"/"constant")``); ``notebooks/07_optimizers`` measures the size of each
difference. The chapter's equations (3rd edition): momentum Eq. 11-5, Nesterov Eq. 11-6,
AdaGrad Eq. 11-7, RMSProp Eq. 11-8, Adam Eq. 11-9; AdaMax, Nadam and AdamW are described in the
text.

Everything is float64 NumPy: no TensorFlow import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tdnn._validate import check_float, check_int

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdaMax",
    "Nadam",
    "AdamW",
    "nesterov_book_step",
    "keras_equivalent",
    "keras_trajectory",
    "numpy_trajectory",
    "OPTIMIZERS",
    "quadratic_bowl",
    "rosenbrock",
    "noisy_least_squares",
    "minimize",
]


def _lr(value: Any) -> float:
    return check_float("learning_rate", value, min_value=0.0, min_inclusive=False)


def _beta(name: str, value: Any) -> float:
    return check_float(name, value, min_value=0.0, max_value=1.0, max_inclusive=False)


def _eps(value: Any) -> float:
    return check_float("epsilon", value, min_value=0.0)


def _as_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"{name} must be an array of real numbers, got {type(value).__name__}"
        )
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    return arr.astype(np.float64)


class Optimizer:
    """Base class: argument checks, shape bookkeeping and the step counter ``t`` (1 at the first step).

    Subclasses implement ``_update(theta, grad) -> new theta`` with ``self.t`` already incremented.
    State arrays are created at the first step with the shape of ``theta``; a later step with another
    shape raises ``ValueError`` (use one instance per parameter tensor, as Keras does per variable).
    """

    name = "optimizer"

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = _lr(learning_rate)
        self.t = 0
        self._shape: tuple[int, ...] | None = None

    def step(self, theta: Any, grad: Any) -> np.ndarray:
        """One update: return the new parameters (float64) given the gradient at ``theta``."""
        theta = _as_array("theta", theta)
        grad = _as_array("grad", grad)
        if theta.shape != grad.shape:
            raise ValueError(
                f"grad must have the shape of theta {theta.shape}, got {grad.shape}"
            )
        if self._shape is None:
            self._shape = theta.shape
            self._init_state(theta)
        elif theta.shape != self._shape:
            raise ValueError(
                f"theta has shape {theta.shape} but this optimizer was used with {self._shape}: "
                "use one optimizer instance per parameter tensor"
            )
        self.t += 1
        return self._update(theta, grad)

    def _init_state(self, theta: np.ndarray) -> None:
        pass

    def _update(
        self, theta: np.ndarray, grad: np.ndarray
    ) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate:g})"


class SGD(Optimizer):
    """Plain gradient descent (HOML ch. 4, Eq. 4-7): ``θ ← θ − η ∇J(θ)``; Keras ``SGD()``."""

    name = "SGD"

    def __init__(self, learning_rate: float = 0.01) -> None:
        super().__init__(learning_rate)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return theta - self.learning_rate * grad


class Momentum(Optimizer):
    """Momentum optimization (Polyak, 1964; HOML Eq. 11-5); Keras ``SGD(momentum=β)``.

    ``m ← β m − η ∇J(θ)``, ``θ ← θ + m``: exactly the book's equation. With a constant gradient the
    step tends to ``η g / (1 − β)``, the "terminal velocity" (10× the plain step for β = 0.9).
    """

    name = "Momentum"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(learning_rate)
        self.momentum = _beta("momentum", momentum)

    def _init_state(self, theta: np.ndarray) -> None:
        self.m = np.zeros_like(theta)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.m = self.momentum * self.m - self.learning_rate * grad
        return theta + self.m


class Nesterov(Momentum):
    """Nesterov accelerated gradient, in **Keras' form**; Keras ``SGD(momentum=β, nesterov=True)``.

    The book's Nesterov (Eq. 11-6) measures the gradient at the look-ahead point:
    ``m ← β m − η ∇J(θ + β m)``, ``θ ← θ + m``. Keras (like Sutskever et al., 2013, and Bengio et al., 2012) stores the look-ahead
    point itself, ``θ' = θ + β m``, and the gradient is taken there; the update becomes
    ``m ← β m − η ∇J(θ')``, ``θ' ← θ' + β m − η ∇J(θ')``. The two give the same sequence of
    gradients; the stored parameters differ by ``β m`` (:func:`nesterov_book_step` is the book's
    form, and ``lookahead`` converts).
    """

    name = "Nesterov"

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.m = self.momentum * self.m - self.learning_rate * grad
        return theta + self.momentum * self.m - self.learning_rate * grad


def nesterov_book_step(
    theta: np.ndarray, m: np.ndarray, grad_fn: Any, learning_rate: float, momentum: float
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the book's Nesterov, Eq. 11-6: ``m ← β m − η ∇J(θ + β m)``, ``θ ← θ + m``.

    ``grad_fn(point)`` returns the gradient at ``point``. Returns ``(θ, m)``.
    """
    if not callable(grad_fn):
        raise TypeError("grad_fn must be a callable returning the gradient at a point")
    learning_rate = _lr(learning_rate)
    momentum = _beta("momentum", momentum)
    theta = _as_array("theta", theta)
    m = _as_array("m", m)
    m = momentum * m - learning_rate * _as_array("grad", grad_fn(theta + momentum * m))
    return theta + m, m


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011; HOML Eq. 11-7); Keras ``Adagrad``.

    ``s ← s + ∇J ⊗ ∇J``, ``θ ← θ − η ∇J ⊘ √(s + ε)``: the book's equation, with Keras' defaults
    ``ε = 1e-7`` and the accumulator ``s`` starting at ``initial_accumulator_value = 0.1`` (the
    book starts it at 0). The effective learning rate ``η / √s`` only decreases: training can stop
    before reaching the minimum.
    """

    name = "AdaGrad"

    def __init__(
        self,
        learning_rate: float = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        self.initial_accumulator_value = check_float(
            "initial_accumulator_value", initial_accumulator_value, min_value=0.0
        )
        self.epsilon = _eps(epsilon)
        if self.initial_accumulator_value + self.epsilon == 0:
            raise ValueError(
                "epsilon and initial_accumulator_value cannot both be 0 (0/0 at g = 0)"
            )

    def _init_state(self, theta: np.ndarray) -> None:
        self.s = np.full_like(theta, self.initial_accumulator_value)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.s = self.s + grad * grad
        return theta - self.learning_rate * grad / np.sqrt(self.s + self.epsilon)


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012; HOML Eq. 11-8); Keras ``RMSprop`` (``momentum=0``,
    ``centered=False``).

    ``s ← ρ s + (1 − ρ) ∇J ⊗ ∇J``, ``θ ← θ − η ∇J ⊘ √(s + ε)``: the book's equation (ε inside the
    square root, as Keras has it).
    """

    name = "RMSProp"

    def __init__(
        self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7
    ) -> None:
        super().__init__(learning_rate)
        self.rho = _beta("rho", rho)
        self.epsilon = _eps(epsilon)

    def _init_state(self, theta: np.ndarray) -> None:
        self.s = np.zeros_like(theta)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.s = self.rho * self.s + (1 - self.rho) * grad * grad
        return theta - self.learning_rate * grad / np.sqrt(self.s + self.epsilon)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015; HOML Eq. 11-9), in **Keras' form**; Keras ``Adam``.

    Moments: ``m ← β1 m + (1 − β1) ∇J``, ``s ← β2 s + (1 − β2) ∇J ⊗ ∇J`` (the book writes
    ``m ← β1 m − (1 − β1) ∇J`` and adds the step, the same thing with the sign flipped).
    Keras' update: ``θ ← θ − α_t m ⊘ (√s + ε)`` with ``α_t = η √(1 − β2^t) / (1 − β1^t)``. That is
    ``θ − η m̂ ⊘ (√ŝ + ε/√(1 − β2^t))``: ε is outside the square root and divided by the bias
    correction. The book's Adam (Eq. 11-9) has ``θ − η m̂ ⊘ √(ŝ + ε)``: ``epsilon_inside=True`` gives it.
    """

    name = "Adam"

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        *,
        epsilon_inside: bool = False,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1 = _beta("beta_1", beta_1)
        self.beta_2 = _beta("beta_2", beta_2)
        self.epsilon = _eps(epsilon)
        if not isinstance(epsilon_inside, bool):
            raise TypeError(f"epsilon_inside must be a bool, got {epsilon_inside!r}")
        self.epsilon_inside = epsilon_inside

    def _init_state(self, theta: np.ndarray) -> None:
        self.m = np.zeros_like(theta)
        self.s = np.zeros_like(theta)

    def _moments(self, grad: np.ndarray) -> None:
        self.m = self.m + (grad - self.m) * (1 - self.beta_1)
        self.s = self.s + (grad * grad - self.s) * (1 - self.beta_2)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self._moments(grad)
        bc1 = 1 - self.beta_1**self.t
        bc2 = 1 - self.beta_2**self.t
        if self.epsilon_inside:  # the book's Adam, Eq. 11-9
            return theta - self.learning_rate * (self.m / bc1) / np.sqrt(
                self.s / bc2 + self.epsilon
            )
        alpha = self.learning_rate * np.sqrt(bc2) / bc1
        return theta - alpha * self.m / (np.sqrt(self.s) + self.epsilon)


class AdaMax(Adam):
    """AdaMax (Kingma & Ba, 2015; described in HOML ch. 11); Keras ``Adamax``.

    ``m`` as in Adam; ``u ← max(β2 u, |∇J|)`` (the ℓ∞ norm replaces the ℓ2 norm of Adam's ``s``, and
    needs no bias correction); ``θ ← θ − η m ⊘ ((1 − β1^t)(u + ε))``.
    """

    name = "AdaMax"

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.m = self.m + (grad - self.m) * (1 - self.beta_1)
        self.s = np.maximum(self.beta_2 * self.s, np.abs(grad))
        bc1 = 1 - self.beta_1**self.t
        return theta - self.learning_rate * self.m / (bc1 * (self.s + self.epsilon))


NADAM_SCHEDULES = ("keras", "paper", "constant")


class Nadam(Adam):
    """Nadam (Dozat, 2016; described in HOML ch. 11: Adam plus the Nesterov trick); Keras ``Nadam``.

    Keras follows Dozat's paper, with a **momentum schedule** ``μ_t`` and its running product
    ``Π_t = μ_1 ⋯ μ_t``::

        m ← β1 m + (1 − β1) g,   s ← β2 s + (1 − β2) g²
        m̂ = μ_{t+1} m / (1 − Π_{t+1}) + (1 − μ_t) g / (1 − Π_t),   ŝ = s / (1 − β2^t)
        θ ← θ − η m̂ ⊘ (√ŝ + ε)

    ``momentum_schedule`` chooses ``μ_t``: ``"keras"`` (default, what Keras 3 computes)
    ``β1 (1 − ½ · 0.96^t)``; ``"paper"``, Dozat's ``β1 (1 − ½ · 0.96^(t/250))``, which warms the
    momentum up 250 times more slowly; ``"constant"``, ``μ_t = β1`` (then ``Π_t = β1^t``): Adam
    with Nesterov's look-ahead on the first moment, the simple form usually quoted for Nadam.
    """

    name = "Nadam"

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        *,
        momentum_schedule: str = "keras",
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        if momentum_schedule not in NADAM_SCHEDULES:
            raise ValueError(
                f"momentum_schedule must be one of {list(NADAM_SCHEDULES)}, got {momentum_schedule!r}"
            )
        self.momentum_schedule = momentum_schedule
        self.u_product = 1.0

    def mu(self, t: int) -> float:
        """The momentum ``μ_t`` of step ``t`` under this instance's ``momentum_schedule``."""
        if self.momentum_schedule == "constant":
            return self.beta_1
        exponent = t if self.momentum_schedule == "keras" else t / 250
        return self.beta_1 * (1.0 - 0.5 * 0.96**exponent)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        mu_t, mu_next = self.mu(self.t), self.mu(self.t + 1)
        self.u_product = self.u_product * mu_t
        u_product_next = self.u_product * mu_next
        self._moments(grad)
        m_hat = mu_next * self.m / (1 - u_product_next) + (1 - mu_t) * grad / (
            1 - self.u_product
        )
        s_hat = self.s / (1 - self.beta_2**self.t)
        return theta - self.learning_rate * m_hat / (np.sqrt(s_hat) + self.epsilon)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019; HOML ch. 11): Adam with **decoupled** weight decay.

    Keras ``AdamW`` first shrinks the weights, ``θ ← θ − η λ θ`` (λ = ``weight_decay``, default
    0.004), then applies the Adam step to the shrunk weights with the gradient computed before.
    Unlike ℓ2 regularization, the decay is not divided by Adam's ``√ŝ``: every weight decays at the
    same rate.
    """

    name = "AdamW"

    def __init__(
        self,
        learning_rate: float = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = check_float("weight_decay", weight_decay, min_value=0.0)

    def _update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        theta = theta - self.learning_rate * self.weight_decay * theta
        return super()._update(theta, grad)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls
    for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax, Nadam, AdamW)
}


# ---------------------------------------------------------------------------------------------------
# The same update in Keras (TensorFlow imported on first use)


def keras_equivalent(optimizer: Optimizer) -> Any:
    """A fresh Keras 3 optimizer configured like ``optimizer`` (same rule, same hyperparameters).

    Raises ``ValueError`` for the book-only variants Keras does not offer
    (``Adam(epsilon_inside=True)``, ``Nadam(momentum_schedule="paper"/"constant")``).
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a tdnn.optimizers.Optimizer, got {optimizer!r}")
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    k = keras.optimizers
    lr = optimizer.learning_rate
    if isinstance(optimizer, Nesterov):
        return k.SGD(learning_rate=lr, momentum=optimizer.momentum, nesterov=True)
    if isinstance(optimizer, Momentum):
        return k.SGD(learning_rate=lr, momentum=optimizer.momentum)
    if isinstance(optimizer, SGD):
        return k.SGD(learning_rate=lr)
    if isinstance(optimizer, AdaGrad):
        return k.Adagrad(
            learning_rate=lr,
            initial_accumulator_value=optimizer.initial_accumulator_value,
            epsilon=optimizer.epsilon,
        )
    if isinstance(optimizer, RMSProp):
        return k.RMSprop(learning_rate=lr, rho=optimizer.rho, epsilon=optimizer.epsilon)
    if isinstance(optimizer, Adam) and getattr(optimizer, "epsilon_inside", False):
        raise ValueError(
            "Keras has no Adam with epsilon inside the square root (the book's form)"
        )
    betas = dict(
        beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon
    )
    if isinstance(optimizer, AdamW):
        return k.AdamW(learning_rate=lr, weight_decay=optimizer.weight_decay, **betas)
    if isinstance(optimizer, Nadam):
        if optimizer.momentum_schedule != "keras":
            raise ValueError("Keras' Nadam has only its own momentum schedule")
        return k.Nadam(learning_rate=lr, **betas)
    if isinstance(optimizer, AdaMax):
        return k.Adamax(learning_rate=lr, **betas)
    if isinstance(optimizer, Adam):
        return k.Adam(learning_rate=lr, **betas)
    raise ValueError(
        f"no Keras equivalent for {type(optimizer).__name__}"
    )  # pragma: no cover


def keras_trajectory(
    optimizer: Any, thetas: Any, grads: Any, *, dtype: str = "float32"
) -> list[np.ndarray]:
    """Run a Keras optimizer on fixed gradients: ``grads[t][i]`` is step ``t``'s gradient of
    parameter ``i`` (initial values ``thetas[i]``). Returns one ``(steps + 1, *shape)`` array per
    parameter (the initial value first), in float64.
    """
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("optimizer must be a keras optimizer (see keras_equivalent)")
    thetas = [_as_array(f"thetas[{i}]", th) for i, th in enumerate(thetas)]
    variables = [keras.Variable(th.astype(dtype), dtype=dtype) for th in thetas]
    path: list[list[np.ndarray]] = [[th.copy()] for th in thetas]
    for t, step_grads in enumerate(grads):
        if len(step_grads) != len(thetas):
            raise ValueError(
                f"grads[{t}] has {len(step_grads)} gradients for {len(thetas)} params"
            )
        optimizer.apply_gradients(
            [
                (keras.ops.convert_to_tensor(np.asarray(g, dtype=dtype)), v)
                for g, v in zip(step_grads, variables)
            ]
        )
        for p, v in zip(path, variables):
            p.append(np.asarray(v.numpy(), dtype=np.float64))
    return [np.stack(p) for p in path]


def numpy_trajectory(make: Any, thetas: Any, grads: Any) -> list[np.ndarray]:
    """The same as :func:`keras_trajectory` for a tdnn optimizer: ``make()`` returns a fresh
    instance, one per parameter tensor."""
    if not callable(make):
        raise TypeError("make must be a callable returning a fresh tdnn optimizer")
    thetas = [_as_array(f"thetas[{i}]", th) for i, th in enumerate(thetas)]
    opts = [make() for _ in thetas]
    path: list[list[np.ndarray]] = [[th.copy()] for th in thetas]
    for step_grads in grads:
        for i, (opt, g) in enumerate(zip(opts, step_grads)):
            path[i].append(opt.step(path[i][-1], g))
    return [np.stack(p) for p in path]


# ---------------------------------------------------------------------------------------------------
# Test problems and a driver (the notebook's trajectories)

LossAndGrad = Any  # callable (theta, step) -> (loss, gradient)


def quadratic_bowl(curvatures: Any = (1.0, 25.0)) -> LossAndGrad:
    """``f(θ) = ½ Σ λ_i θ_i²``, an elongated bowl when the curvatures ``λ_i`` differ (the book's
    Figure 4-7 picture): minimum 0 at θ = 0; gradient descent is stable only for η < 2 / max λ."""
    lam = _as_array("curvatures", curvatures).ravel()
    if lam.size == 0 or np.any(lam <= 0) or not np.all(np.isfinite(lam)):
        raise ValueError("curvatures must be positive and finite")

    def loss_and_grad(theta: Any, step: int = 0) -> tuple[float, np.ndarray]:
        theta = _as_array("theta", theta)
        return 0.5 * float(np.sum(lam * theta**2)), lam * theta

    return loss_and_grad


def rosenbrock(a: float = 1.0, b: float = 100.0) -> LossAndGrad:
    """Rosenbrock's banana valley ``f(x, y) = (a − x)² + b (y − x²)²``: minimum 0 at ``(a, a²)``."""
    a = check_float("a", a)
    b = check_float("b", b, min_value=0.0, min_inclusive=False)

    def loss_and_grad(theta: Any, step: int = 0) -> tuple[float, np.ndarray]:
        x, y = _as_array("theta", theta)
        loss = (a - x) ** 2 + b * (y - x**2) ** 2
        grad = np.array([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)])
        return float(loss), grad

    return loss_and_grad


def noisy_least_squares(
    n: int = 1000,
    d: int = 20,
    *,
    batch_size: int = 32,
    condition: float = 100.0,
    seed: int = 0,
) -> tuple[LossAndGrad, LossAndGrad]:
    """A small "network": a linear layer fitted by mini-batch MSE, on seeded synthetic data.

    The features have variances spread geometrically over ``condition`` (an ill-conditioned
    problem, like most networks') and the targets carry noise, so mini-batch gradients stay noisy
    near the minimum. Returns ``(batch_loss_and_grad, full_loss_and_grad)``: the first uses the
    mini-batch of ``step`` (a seeded permutation per epoch), the second the whole data set.
    """
    n = check_int("n", n, min_value=2)
    d = check_int("d", d, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    condition = check_float("condition", condition, min_value=1.0)
    seed = check_int("seed", seed, min_value=0)
    rng = np.random.default_rng(seed)
    scales = np.sqrt(np.geomspace(1.0, 1.0 / condition, d))
    x = rng.standard_normal((n, d)) * scales
    w_true = rng.standard_normal(d)
    y = x @ w_true + 0.5 * rng.standard_normal(n)
    per_epoch = max(1, n // batch_size)
    orders: dict[int, np.ndarray] = {}

    def _loss_grad(
        xb: np.ndarray, yb: np.ndarray, theta: np.ndarray
    ) -> tuple[float, np.ndarray]:
        err = xb @ theta - yb
        return float(np.mean(err**2)), 2 * xb.T @ err / len(yb)

    def batch(theta: Any, step: int = 0) -> tuple[float, np.ndarray]:
        epoch, i = divmod(int(step), per_epoch)
        if epoch not in orders:
            orders[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
        idx = orders[epoch][i * batch_size : (i + 1) * batch_size]
        return _loss_grad(x[idx], y[idx], _as_array("theta", theta))

    def full(theta: Any, step: int = 0) -> tuple[float, np.ndarray]:
        return _loss_grad(x, y, _as_array("theta", theta))

    return batch, full


def minimize(
    optimizer: Optimizer, loss_and_grad: LossAndGrad, theta0: Any, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``steps`` updates of ``optimizer`` from ``theta0``; return the path ``(steps + 1, d)``
    and the loss at each point of it (``inf`` once the loss overflows; the path then stops)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a tdnn.optimizers.Optimizer, got {optimizer!r}")
    if not callable(loss_and_grad):
        raise TypeError(
            "loss_and_grad must be a callable (theta, step) -> (loss, gradient)"
        )
    steps = check_int("steps", steps, min_value=0)
    theta = _as_array("theta0", theta0)
    path, losses = [theta], []
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            loss, grad = loss_and_grad(theta, step)
            losses.append(loss)
            if not np.isfinite(loss):
                break
            theta = optimizer.step(theta, grad)
            path.append(theta)
        if len(path) > len(losses):
            losses.append(loss_and_grad(theta, steps)[0])
    return np.stack(path), np.array(losses, dtype=np.float64)
