"""Learning-rate schedules (HOML ch. 11, "Learning Rate Scheduling"): pure functions and Keras glue.

The book's schedules are functions of an iteration counter ``t`` (a step or an epoch):

* power scheduling: ``η(t) = η0 / (1 + t/s)^c`` (:func:`power_schedule`);
* exponential scheduling: ``η(t) = η0 · 0.1^(t/s)``, divided by 10 every ``s`` steps
  (:func:`exponential_schedule`);
* piecewise constant scheduling: a constant per interval (:func:`piecewise_constant_schedule`);
* performance scheduling: divide by ``factor`` when the validation loss stops improving (Keras'
  ``ReduceLROnPlateau``; nothing to implement);
* 1cycle (Smith, 2018): up from ``start_lr`` to ``max_lr`` during the first half of training, back
  down during the second half, then a linear "annihilation" to ``last_lr`` during the last few
  steps, with the momentum cycled the other way (:func:`one_cycle_schedule`,
  :func:`one_cycle_momentum`), applied **per batch** by :class:`OneCycleScheduler`.

Each ``*_schedule`` factory validates its arguments and returns a function of ``t`` that accepts a
number (returns a ``float``) or an array (returns a float64 array), like the book's
``exponential_decay(lr0, s)`` returning ``exponential_decay_fn(epoch)``. They are the exact
references for Keras' ``keras.optimizers.schedules`` (:func:`keras_schedule` builds the
equivalent), which compute in float32.

:func:`lr_range_test` and :func:`suggest_learning_rate` implement the LR finder (the book: grow the
learning rate exponentially over a few hundred iterations, plot the loss against it, and pick a
learning rate "about 10 times lower" than where the loss starts to climb).

The pure functions only need NumPy; TensorFlow is imported when a Keras object is first requested
(:class:`OneCycleScheduler`, :class:`LearningRateLogger`, :func:`keras_schedule`,
:func:`find_learning_rate`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tdnn._validate import check_float, check_int

__all__ = [
    "power_schedule",
    "exponential_schedule",
    "piecewise_constant_schedule",
    "one_cycle_schedule",
    "one_cycle_momentum",
    "one_cycle_peak_step",
    "exponential_lr_range",
    "lr_range_test",
    "suggest_learning_rate",
    "keras_schedule",
    "find_learning_rate",
    "OneCycleScheduler",
    "LearningRateLogger",
]

Schedule = Callable[[Any], Any]


def _as_t(t: Any) -> tuple[np.ndarray, bool]:
    """``t`` as a float64 array (and whether it was a scalar); reject negatives and non-numbers."""
    if isinstance(t, bool):
        raise TypeError("t must be a number or an array of numbers, got bool")
    arr = np.asarray(t)
    if (
        arr.dtype == object
        or not np.issubdtype(arr.dtype, np.number)
        or np.iscomplexobj(arr)
    ):
        raise TypeError(f"t must be a real number or an array of real numbers, got {t!r}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("t must be finite and >= 0 (a step or epoch counter)")
    return arr, arr.ndim == 0


def _out(values: np.ndarray, scalar: bool) -> Any:
    return float(values) if scalar else values


def _positive(name: str, value: Any) -> float:
    return check_float(name, value, min_value=0.0, min_inclusive=False)


def power_schedule(eta0: float, s: float, c: float = 1.0) -> Schedule:
    """Power scheduling (HOML ch. 11): ``η(t) = η0 / (1 + t/s)^c``.

    The learning rate is halved after ``s`` steps when ``c = 1`` (then it is Keras'
    ``InverseTimeDecay(η0, decay_steps=s, decay_rate=1)``), and falls ever more slowly after.
    """
    eta0, s = _positive("eta0", eta0), _positive("s", s)
    c = _positive("c", c)

    def schedule(t: Any) -> Any:
        arr, scalar = _as_t(t)
        return _out(eta0 / (1.0 + arr / s) ** c, scalar)

    return schedule


def exponential_schedule(eta0: float, s: float) -> Schedule:
    """Exponential scheduling (HOML ch. 11): ``η(t) = η0 · 0.1^(t/s)``: divided by 10 every ``s``.

    Keras' equivalent is ``ExponentialDecay(η0, decay_steps=s, decay_rate=0.1)``.
    """
    eta0, s = _positive("eta0", eta0), _positive("s", s)

    def schedule(t: Any) -> Any:
        arr, scalar = _as_t(t)
        return _out(eta0 * 0.1 ** (arr / s), scalar)

    return schedule


def piecewise_constant_schedule(
    boundaries: Sequence[float], values: Sequence[float]
) -> Schedule:
    """Piecewise constant scheduling (HOML ch. 11): ``values[i]`` while ``boundaries[i-1] <= t <
    boundaries[i]``.

    This is the book's convention (``if epoch < 5: return 0.01``...): the new value applies *at* the
    boundary. Keras' ``PiecewiseConstantDecay(boundaries, values)`` switches one step later (it uses
    ``step <= boundary``); on integer steps it equals this function with every boundary minus one
    (:func:`keras_schedule` does that shift).
    """
    if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, Sequence):
        raise TypeError("boundaries must be a sequence of numbers, e.g. [5, 15]")
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            "values must be a sequence of learning rates, e.g. [0.01, 0.005, 0.001]"
        )
    b = [
        check_float(f"boundaries[{i}]", x, min_value=0.0) for i, x in enumerate(boundaries)
    ]
    v = [_positive(f"values[{i}]", x) for i, x in enumerate(values)]
    if len(v) != len(b) + 1:
        raise ValueError(
            f"values must have one more item than boundaries, got {len(v)} values for "
            f"{len(b)} boundaries"
        )
    if any(later <= earlier for earlier, later in zip(b, b[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {b}")
    b_arr, v_arr = np.array(b, dtype=np.float64), np.array(v, dtype=np.float64)

    def schedule(t: Any) -> Any:
        arr, scalar = _as_t(t)
        return _out(v_arr[np.searchsorted(b_arr, arr, side="right")], scalar)

    return schedule


def _one_cycle_steps(total_steps: Any, last_steps: Any) -> tuple[int, int, int]:
    total_steps = check_int("total_steps", total_steps, min_value=3)
    if last_steps is None:
        last_steps = total_steps // 10 + 1
    last_steps = check_int("last_steps", last_steps, min_value=0)
    half = (total_steps - last_steps) // 2
    if half < 1:
        raise ValueError(
            f"last_steps={last_steps} leaves no room for the cycle in total_steps={total_steps}"
        )
    return total_steps, last_steps, half


def one_cycle_peak_step(total_steps: int, last_steps: int | None = None) -> int:
    """The step at which 1cycle reaches ``max_lr`` (and the momentum its minimum)."""
    return _one_cycle_steps(total_steps, last_steps)[2]


def _interp(t: np.ndarray, knots_t: list[float], knots_v: list[float]) -> np.ndarray:
    return np.interp(t, knots_t, knots_v)


def one_cycle_schedule(
    total_steps: int,
    max_lr: float,
    *,
    start_lr: float | None = None,
    last_lr: float | None = None,
    last_steps: int | None = None,
) -> Schedule:
    """1cycle learning rate (Smith, 2018; HOML ch. 11), a function of the **batch** step ``t``.

    Linear from ``start_lr`` (default ``max_lr / 10``) up to ``max_lr`` at step ``h =
    (total_steps - last_steps) // 2``, linear back down to ``start_lr`` at step ``2h``, then linear
    down to ``last_lr`` (default ``start_lr / 1000``) at ``total_steps`` and constant after, with
    ``last_steps`` defaulting to ``total_steps // 10 + 1``. These are the defaults of the book's
    ``OneCycleScheduler``; unlike it, the learning rate never goes below ``last_lr`` (the book's
    extrapolates to negative values if training runs past ``total_steps``).
    """
    knots_t, knots_v = _one_cycle_knots(
        total_steps, max_lr, start_lr=start_lr, last_lr=last_lr, last_steps=last_steps
    )

    def schedule(t: Any) -> Any:
        arr, scalar = _as_t(t)
        return _out(_interp(arr, knots_t, knots_v), scalar)

    return schedule


def _one_cycle_knots(
    total_steps: int,
    max_lr: float,
    *,
    start_lr: float | None = None,
    last_lr: float | None = None,
    last_steps: int | None = None,
) -> tuple[list[float], list[float]]:
    """The steps and learning rates of 1cycle's corners (validated), for both implementations."""
    total_steps, last_steps, half = _one_cycle_steps(total_steps, last_steps)
    max_lr = _positive("max_lr", max_lr)
    start_lr = max_lr / 10 if start_lr is None else _positive("start_lr", start_lr)
    if start_lr >= max_lr:
        raise ValueError(
            f"start_lr must be < max_lr, got start_lr={start_lr}, max_lr={max_lr}"
        )
    last_lr = start_lr / 1000 if last_lr is None else _positive("last_lr", last_lr)
    if last_lr >= start_lr:
        raise ValueError(
            f"last_lr must be < start_lr, got last_lr={last_lr}, start_lr={start_lr}"
        )
    knots_t = [0.0, float(half), float(2 * half), float(total_steps)]
    knots_v = [start_lr, max_lr, start_lr, last_lr]
    return knots_t, knots_v


def one_cycle_momentum(
    total_steps: int,
    *,
    max_momentum: float = 0.95,
    min_momentum: float = 0.85,
    last_steps: int | None = None,
) -> Schedule:
    """1cycle momentum (Smith, 2018): cycled inversely to the learning rate.

    Linear from ``max_momentum`` down to ``min_momentum`` at the learning-rate peak, back up to
    ``max_momentum`` at step ``2h``, and held there during the final annihilation (same ``h`` and
    ``last_steps`` as :func:`one_cycle_schedule`). Smith's recommended range is 0.95 -> 0.85.
    """
    total_steps, last_steps, half = _one_cycle_steps(total_steps, last_steps)
    max_m = check_float(
        "max_momentum", max_momentum, min_value=0.0, max_value=1.0, max_inclusive=False
    )
    min_m = check_float(
        "min_momentum", min_momentum, min_value=0.0, max_value=1.0, max_inclusive=False
    )
    if min_m > max_m:
        raise ValueError(f"min_momentum must be <= max_momentum, got {min_m} > {max_m}")
    knots_t = [0.0, float(half), float(2 * half)]
    knots_v = [max_m, min_m, max_m]

    def schedule(t: Any) -> Any:
        arr, scalar = _as_t(t)
        return _out(_interp(arr, knots_t, knots_v), scalar)

    return schedule


# ---------------------------------------------------------------------------------------------------
# LR finder (pure part)


def exponential_lr_range(min_lr: float, max_lr: float, steps: int) -> np.ndarray:
    """``steps`` learning rates growing geometrically from ``min_lr`` to ``max_lr`` (LR finder)."""
    min_lr, max_lr = _positive("min_lr", min_lr), _positive("max_lr", max_lr)
    if max_lr <= min_lr:
        raise ValueError(f"max_lr must be > min_lr, got min_lr={min_lr}, max_lr={max_lr}")
    steps = check_int("steps", steps, min_value=2)
    return np.geomspace(min_lr, max_lr, steps)


def lr_range_test(
    loss_and_grad: Callable[[np.ndarray, int], tuple[float, np.ndarray]],
    theta0: Any,
    *,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    steps: int = 300,
    stop_factor: float = 4.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The LR finder on a NumPy problem: plain gradient descent with an exponentially growing LR.

    ``loss_and_grad(theta, step)`` returns the loss at ``theta`` (on the batch of ``step``) and its
    gradient. Step ``i`` uses the ``i``-th learning rate of :func:`exponential_lr_range` and
    records the loss *before* its update. The test stops once the loss exceeds ``stop_factor``
    times its best value (or is not finite). Returns ``(learning_rates, losses)`` of equal length.
    """
    if not callable(loss_and_grad):
        raise TypeError(
            "loss_and_grad must be a callable (theta, step) -> (loss, gradient)"
        )
    theta = np.array(theta0, dtype=np.float64)
    lrs = exponential_lr_range(min_lr, max_lr, steps)
    stop_factor = check_float(
        "stop_factor", stop_factor, min_value=1.0, min_inclusive=False
    )
    losses: list[float] = []
    best = math.inf
    for i, lr in enumerate(lrs):
        loss, grad = loss_and_grad(theta, i)
        loss = float(loss)
        losses.append(loss)
        if not math.isfinite(loss) or loss > stop_factor * best:
            break
        best = min(best, loss)
        theta = theta - lr * np.asarray(grad, dtype=np.float64)
    return lrs[: len(losses)].copy(), np.array(losses)


def suggest_learning_rate(
    learning_rates: Any, losses: Any, *, smoothing: float = 0.9, divide_by: float = 10.0
) -> float:
    """The book's rule for the LR finder: ``divide_by`` (10) times lower than where the loss turns.

    The losses are smoothed with a bias-corrected exponential moving average (``smoothing`` is its
    β; noisy mini-batch losses need it), the learning rate at the smoothed minimum is the turning
    point, and the suggestion is that learning rate divided by ``divide_by``. Non-finite losses
    (a diverged run) are treated as +inf.
    """
    lrs = np.asarray(learning_rates, dtype=np.float64)
    loss = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or loss.shape != lrs.shape or lrs.size < 2:
        raise ValueError(
            "learning_rates and losses must be 1-D arrays of the same length >= 2"
        )
    if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0) or np.any(np.diff(lrs) <= 0):
        raise ValueError("learning_rates must be positive, finite and strictly increasing")
    smoothing = check_float(
        "smoothing", smoothing, min_value=0.0, max_value=1.0, max_inclusive=False
    )
    divide_by = check_float("divide_by", divide_by, min_value=1.0)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    smoothed = np.empty_like(loss)
    avg = 0.0
    for i, x in enumerate(loss):
        avg = smoothing * avg + (1 - smoothing) * x
        smoothed[i] = avg / (1 - smoothing ** (i + 1))
    return float(lrs[int(np.argmin(smoothed))] / divide_by)


# ---------------------------------------------------------------------------------------------------
# Keras glue (TensorFlow is imported on first use)


def keras_schedule(kind: str, **kwargs: Any) -> Any:
    """The ``keras.optimizers.schedules`` equivalent of one of the pure schedules (per step).

    ``keras_schedule("power", eta0=, s=)`` is ``InverseTimeDecay(eta0, s, 1.0)`` (``c = 1``
    only); ``("exponential", eta0=, s=)`` is ``ExponentialDecay(eta0, s, 0.1)``;
    ``("piecewise", boundaries=, values=)`` is ``PiecewiseConstantDecay`` with every (integer)
    boundary minus one, since Keras switches one step later than the book's convention.
    ``("one_cycle", total_steps=, max_lr=, start_lr=None, last_lr=None, last_steps=None)`` is
    :func:`one_cycle_schedule` as a ``LearningRateSchedule`` (Keras has none): the learning rate
    only, computed inside the compiled step, so that training keeps running many batches per call
    (``steps_per_execution``), which the per-batch :class:`OneCycleScheduler` callback prevents.
    It does not cycle the momentum.
    """
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    schedules = keras.optimizers.schedules
    if kind == "power":
        if kwargs.get("c", 1.0) != 1.0:
            raise ValueError("Keras' InverseTimeDecay has no exponent: c must be 1")
        power_schedule(kwargs["eta0"], kwargs["s"])  # validates
        return schedules.InverseTimeDecay(float(kwargs["eta0"]), float(kwargs["s"]), 1.0)
    if kind == "exponential":
        exponential_schedule(kwargs["eta0"], kwargs["s"])
        return schedules.ExponentialDecay(float(kwargs["eta0"]), float(kwargs["s"]), 0.1)
    if kind == "piecewise":
        boundaries, values = list(kwargs["boundaries"]), list(kwargs["values"])
        piecewise_constant_schedule(boundaries, values)
        for i, b in enumerate(boundaries):
            if not (isinstance(b, numbers.Integral) or float(b).is_integer()) or b < 1:
                raise ValueError(
                    f"boundaries[{i}] must be an integer step >= 1 for Keras, got {b}"
                )
        return schedules.PiecewiseConstantDecay(
            [int(b) - 1 for b in boundaries], [float(v) for v in values]
        )
    if kind == "one_cycle":
        allowed = {"total_steps", "max_lr", "start_lr", "last_lr", "last_steps"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(f"keras_schedule('one_cycle') got unexpected arguments {unknown}")
        if "total_steps" not in kwargs or "max_lr" not in kwargs:
            raise TypeError("keras_schedule('one_cycle') needs total_steps= and max_lr=")
        knots_t, knots_v = _one_cycle_knots(**kwargs)
        return _keras_class("OneCycleSchedule")(knots_t, knots_v)
    raise ValueError(
        f"kind must be one of ['power', 'exponential', 'piecewise', 'one_cycle'], got {kind!r}"
    )


def _keras() -> Any:
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def _current_lr(optimizer: Any) -> float:
    return float(np.asarray(optimizer.learning_rate))


def _make_keras_classes() -> dict[str, type]:
    """The module's Keras classes, made on first use so that importing it does not import TensorFlow."""
    keras = _keras()

    @keras.saving.register_keras_serializable(package="tdnn")
    class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Piecewise-linear learning rate through ``knots_v`` at steps ``knots_t``, then flat."""

        def __init__(self, knots_t: Sequence[float], knots_v: Sequence[float]) -> None:
            self.knots_t = [float(t) for t in knots_t]
            self.knots_v = [float(v) for v in knots_v]

        def __call__(self, step: Any) -> Any:
            ops = keras.ops
            t, v = self.knots_t, self.knots_v
            step = ops.cast(step, "float32")
            lr = ops.full_like(step, v[-1])  # after the last knot: flat at the last value
            for i in range(len(t) - 2, -1, -1):  # the segment that holds the step, last first
                if t[i + 1] == t[i]:  # an empty segment (last_steps=0)
                    continue
                frac = (ops.clip(step, t[i], t[i + 1]) - t[i]) / (t[i + 1] - t[i])
                lr = ops.where(step < t[i + 1], v[i] + (v[i + 1] - v[i]) * frac, lr)
            return lr

        def get_config(self) -> dict[str, Any]:
            return {"knots_t": self.knots_t, "knots_v": self.knots_v}

    class _CycledMomentumSGD(keras.optimizers.SGD):
        """Keras' SGD update (momentum or Nesterov), reading the momentum from a variable."""

        def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
            ops = keras.ops
            learning_rate = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            m = self.momentums[self._get_variable_index(variable)]
            momentum = ops.cast(self._tdnn_momentum, variable.dtype)
            self.assign(m, m * momentum - gradient * learning_rate)
            if self.nesterov:
                self.assign_add(variable, m * momentum - gradient * learning_rate)
            else:
                self.assign_add(variable, m)

    class LearningRateLogger(keras.callbacks.Callback):
        """Record the learning rate the optimizer really used, per batch and per epoch.

        Read back from the optimizer after each call of the compiled train step, for every step
        that call took (the optimizer's ``iterations`` tell how many: one, or up to
        ``steps_per_execution``): a schedule object is evaluated at each of those steps, a rate
        held in the optimizer's variable (set by a callback, or constant) is read once, as nothing
        can change it inside the call. So it does not need one batch per call
        (``handles_steps_per_execution``, see :func:`tdnn.training.sees_every_batch`).
        ``per_step`` and ``per_epoch`` are lists of floats; ``per_epoch`` holds the rate of each
        epoch's last batch.
        """

        handles_steps_per_execution = True

        def __init__(self) -> None:
            super().__init__()
            self.per_step: list[float] = []
            self.per_epoch: list[float] = []
            self._logged_until: int | None = None

        def _rates_used(self, first: int, end: int) -> list[float]:
            """The rates of optimizer steps ``first`` .. ``end - 1`` (0-based)."""
            opt = self.model.optimizer
            lr = opt._learning_rate  # a Variable, or a LearningRateSchedule
            if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
                return [float(np.asarray(lr(step))) for step in range(first, end)]
            return [_current_lr(opt)] * (end - first)

        def on_train_begin(self, logs: Any = None) -> None:
            self._logged_until = int(np.asarray(self.model.optimizer.iterations))

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            now = int(np.asarray(self.model.optimizer.iterations))
            first = now - 1 if self._logged_until is None else self._logged_until
            self.per_step.extend(self._rates_used(first, now))
            self._logged_until = now

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if self.per_step:
                self.per_epoch.append(self.per_step[-1])

    class OneCycleScheduler(keras.callbacks.Callback):
        """Smith's 1cycle, set **per batch** (HOML ch. 11's ``OneCycleScheduler``, Keras 3).

        Before every training batch it sets ``optimizer.learning_rate`` from
        :func:`one_cycle_schedule` and, when ``cycle_momentum`` is true and the optimizer has one,
        the momentum from :func:`one_cycle_momentum` (``momentum`` of SGD, ``beta_1`` of
        Adam-family optimizers). It keeps its own step counter across ``fit`` calls (so a second
        ``fit`` continues the cycle), and records what it set in ``learning_rates`` and
        ``momentums`` (one entry per batch). ``momentum_variable`` is the variable the compiled
        step reads the momentum from (``None`` when nothing is cycled).

        Keras 3 compiles the train step into a graph, and a Python-float ``momentum``/``beta_1``
        is frozen into it when it is traced: assigning a new float later changes nothing. So
        before training this callback replaces ``beta_1`` with a ``keras.Variable`` (which the
        graph reads at every step) and, for SGD, whose code tests ``momentum != 0`` in Python,
        turns the optimizer into a subclass that reads its momentum from a variable; then it has
        the train step traced again. (The extra variable joins ``optimizer.variables``.)
        """

        changes_optimizer = True  # tdnn.traces: the model trains itself, not a twin

        def __init__(
            self,
            total_steps: int,
            max_lr: float,
            *,
            start_lr: float | None = None,
            last_lr: float | None = None,
            last_steps: int | None = None,
            cycle_momentum: bool = True,
            max_momentum: float = 0.95,
            min_momentum: float = 0.85,
        ) -> None:
            super().__init__()
            self.lr_fn = one_cycle_schedule(
                total_steps,
                max_lr,
                start_lr=start_lr,
                last_lr=last_lr,
                last_steps=last_steps,
            )
            if not isinstance(cycle_momentum, bool):
                raise TypeError(f"cycle_momentum must be a bool, got {cycle_momentum!r}")
            self.momentum_fn = (
                one_cycle_momentum(
                    total_steps,
                    max_momentum=max_momentum,
                    min_momentum=min_momentum,
                    last_steps=last_steps,
                )
                if cycle_momentum
                else None
            )
            self.total_steps = int(total_steps)
            self.step = 0
            self.learning_rates: list[float] = []
            self.momentums: list[float] = []
            self.momentum_variable: Any = None

        def on_train_begin(self, logs: Any = None) -> None:
            self.momentum_variable = None
            if self.momentum_fn is None:
                return
            opt = self.model.optimizer
            changed = False
            if isinstance(opt, keras.optimizers.SGD):
                if not isinstance(opt, _CycledMomentumSGD):
                    if float(opt.momentum) == 0:
                        return  # plain SGD: no momentum to cycle
                    opt._tdnn_momentum = keras.Variable(
                        float(opt.momentum),
                        dtype="float32",
                        trainable=False,
                        name="momentum",
                    )
                    opt.__class__ = _CycledMomentumSGD
                    changed = True
                self.momentum_variable = opt._tdnn_momentum
            elif hasattr(opt, "beta_1"):
                if not isinstance(opt.beta_1, keras.Variable):
                    opt.beta_1 = keras.Variable(
                        float(opt.beta_1), dtype="float32", trainable=False, name="beta_1"
                    )
                    changed = True
                self.momentum_variable = opt.beta_1
            if changed:  # the compiled step froze the old Python float: trace it again
                self.model.make_train_function(force=True)

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            opt = self.model.optimizer
            lr = self.lr_fn(self.step)
            opt.learning_rate = lr
            self.learning_rates.append(_current_lr(opt))
            if self.momentum_variable is not None:
                self.momentum_variable.assign(self.momentum_fn(self.step))
                self.momentums.append(float(np.asarray(self.momentum_variable)))
            self.step += 1

    return {
        "LearningRateLogger": LearningRateLogger,
        "OneCycleScheduler": OneCycleScheduler,
        "OneCycleSchedule": OneCycleSchedule,
    }


_KERAS_CLASSES: dict[str, type] = {}


def _keras_class(name: str) -> type:
    if not _KERAS_CLASSES:
        _KERAS_CLASSES.update(_make_keras_classes())
    return _KERAS_CLASSES[name]


def __getattr__(name: str) -> Any:
    # the Keras callback classes are created on first access, so that importing the pure schedules
    # does not import TensorFlow
    if name in ("OneCycleScheduler", "LearningRateLogger"):
        return _keras_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_learning_rate(
    model: Any,
    train: tuple[Any, Any],
    *,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    steps: int = 300,
    batch_size: int = 32,
    stop_factor: float = 4.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The LR finder on a compiled Keras model: ``steps`` batches with a geometrically growing LR.

    Trains on ``train = (x, y)`` (cycled if needed) with the learning rate of step ``i`` set per
    batch, records each batch's loss, stops early once the loss exceeds ``stop_factor`` times its
    best, then restores the model's weights and the optimizer's learning rate. Returns
    ``(learning_rates, losses)``; pass them to :func:`suggest_learning_rate`.
    """
    keras = _keras()
    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
        raise TypeError("model must be a compiled keras.Model")
    lrs = exponential_lr_range(min_lr, max_lr, steps)
    steps = len(lrs)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    stop_factor = check_float(
        "stop_factor", stop_factor, min_value=1.0, min_inclusive=False
    )
    x, y = train
    n = len(x)
    if n == 0 or len(y) != n:
        raise ValueError("train must be a non-empty (x, y) pair of equal lengths")
    weights = model.get_weights()
    opt = model.optimizer
    old_lr = _current_lr(opt)
    losses: list[float] = []
    best = math.inf
    order = np.arange(n)
    for i, lr in enumerate(lrs):
        start = (i * batch_size) % n
        idx = np.take(order, range(start, start + batch_size), mode="wrap")
        opt.learning_rate = float(lr)
        logs = model.train_on_batch(x[idx], y[idx], return_dict=True)
        loss = float(logs["loss"])
        losses.append(loss)
        if not math.isfinite(loss) or loss > stop_factor * best:
            break
        best = min(best, loss)
    model.set_weights(weights)
    opt.learning_rate = old_lr
    return lrs[: len(losses)].copy(), np.array(losses)
