# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Gradient clipping
#
# Initialization, non-saturating activations and Batch Normalization attack unstable gradients at
# their source. Gradient clipping (Pascanu, Mikolov & Bengio, 2013) is the blunt instrument that
# remains: whatever the network does, cap the gradient before the optimizer uses it. The book notes
# that it is used mostly in recurrent neural networks, where Batch Normalization is tricky to use.
# In this notebook you will see:
#
# - the book's example, the gradient $[0.9, 100.0]$ clipped by value and by norm, and how much each
#   turns its direction;
# - what Keras 3 optimizers really do with `clipvalue`, `clipnorm` and `global_clipnorm`, checked on
#   one SGD step against a NumPy reference (`tdnn.clipping`). Surprise: `clipnorm` clips **each
#   variable's** gradient separately;
# - a recurrent network whose gradients explode: without clipping it diverges to `inf` within a few
#   dozen steps; with clipping it learns. And one clipping threshold that is too loose to help.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import keras
import matplotlib.pyplot as plt
from matplotlib.patches import Arc
import numpy as np
import pandas as pd

from tdnn.clipping import (
    angle_between,
    clip_by_norm,
    clip_by_value,
    clip_like_keras,
    diverged_at,
    global_norm,
    noisy_sine_sequences,
    train_with_gradient_log,
)

pd.set_option(
    "display.float_format", "{:.5g}".format
)  # 5 significant digits in every table

# %% [markdown]
# ## The book's example: clipping by value vs by norm
#
# Clipping **by value** caps every component: $g_i \leftarrow \min(\max(g_i, -v), v)$. Clipping
# **by norm** rescales the whole vector when it is longer than the threshold $c$:
#
# $$\mathbf g \leftarrow \mathbf g \cdot \frac{c}{\max(\lVert\mathbf g\rVert_2,\ c)}$$
#
# so a short gradient is left alone and a long one keeps its direction but gets length $c$. The
# book's example is $\mathbf g = [0.9, 100.0]$ with threshold 1.0. The angle between two vectors is
# $\theta = \arccos\frac{\mathbf u\cdot\mathbf v}{\lVert\mathbf u\rVert\,\lVert\mathbf v\rVert}$
# (`angle_between` computes it in a numerically safer form).

# %%
g = np.array([0.9, 100.0])
by_value = clip_by_value(g, 1.0)
by_norm = clip_by_norm(g, 1.0)
print(f"gradient          {g}   norm {np.linalg.norm(g):.4f}")
print(
    f"clipped by value  {by_value}   norm {np.linalg.norm(by_value):.4f}   "
    f"turned by {angle_between(g, by_value):.1f}°"
)
print(
    f"clipped by norm   {np.round(by_norm, 8)}   norm {np.linalg.norm(by_norm):.4f}   "
    f"turned by {angle_between(g, by_norm):.1f}°"
)
print(f"analytically, by norm = g / ||g|| = {np.round(g / np.sqrt(0.9**2 + 100.0**2), 8)}")

# %% [markdown]
# Clipping by value gives $[0.9, 1.0]$: the step now points almost halfway between the two axes,
# 41.5° away from the gradient, which pointed almost entirely along the second axis (89.5° from
# the first). Clipping by norm gives $[0.00899964, 0.9999595]$, the book's numbers: the same
# direction, length 1. The picture:

# %%
fig, ax = plt.subplots(figsize=(5.0, 3.6))
for vec, color, lw in [(g, "C0", 4.0), (by_norm, "C2", 1.5), (by_value, "C1", 2.0)]:
    u = vec / np.linalg.norm(vec)
    ax.annotate(
        "",
        xy=u,
        xytext=(0, 0),
        arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, mutation_scale=15),
    )
ax.text(
    0.04,
    1.0,
    "gradient [0.9, 100] (blue)\nand clipped by norm (green):\nthe same direction",
    va="top",
    fontsize=9,
)
u_value = by_value / np.linalg.norm(by_value)
ax.text(
    u_value[0] + 0.03,
    u_value[1] - 0.02,
    "clipped by value\n[0.9, 1.0]",
    color="C1",
    va="top",
    fontsize=9,
)
angles = np.degrees(np.arctan2([by_value[1], g[1]], [by_value[0], g[0]]))
ax.add_patch(Arc((0, 0), 0.5, 0.5, theta1=angles[0], theta2=angles[1], color="k", lw=0.8))
ax.text(0.2, 0.3, f"{angles[1] - angles[0]:.1f}°", fontsize=9)
ax.set_xlim(-0.05, 1.2)
ax.set_ylim(-0.05, 1.1)
ax.set_aspect("equal")
ax.set_xlabel("component 1 (unit length)")
ax.set_ylabel("component 2 (unit length)")
ax.set_title("Direction of the step, every vector at unit length")
plt.show()

# %% [markdown]
# ## What Keras 3 does: one SGD step, inspected
#
# The book's code still runs unchanged in Keras 3:
# `keras.optimizers.SGD(clipvalue=1.0)` or `SGD(clipnorm=1.0)`, then `model.compile(loss="mse",
# optimizer=optimizer)`. Every Keras optimizer takes at most one of three arguments, applied in
# `BaseOptimizer._clip_gradients` (`keras/src/optimizers/base_optimizer.py`) on the gradients passed
# to `apply_gradients`, before weight decay and the update rule:
#
# ```python
# if self.clipnorm and self.clipnorm > 0:
#     return [self._clip_by_norm(g) if g is not None else g for g in grads]   # tf.clip_by_norm(g, c)
# elif self.global_clipnorm and self.global_clipnorm > 0:
#     return clip_by_global_norm(grads, self.global_clipnorm)
# elif self.clipvalue and self.clipvalue > 0:
#     v = self.clipvalue
#     return [ops.clip(g, -v, v) if g is not None else g for g in grads]
# ```
#
# Three things to read in it: `clipnorm` is applied **per variable** (each kernel and each bias by
# its own norm); `global_clipnorm` rescales all gradients by one common factor
# $c/\max(\lVert G\rVert, c)$, with $\lVert G\rVert = \sqrt{\sum_i \lVert\mathbf g_i\rVert^2}$
# the norm of all gradients together; and a threshold of 0 (or below) is silently ignored. Setting
# more than one of them raises an error.
#
# With `SGD(learning_rate=1.0, momentum=0.0)` the update is exactly $-\text{clip}(\mathbf g)$, so
# one step on a variable shows what Keras applied: $\mathbf w_\text{before} - \mathbf w_\text{after}$.
# First the book's gradient on a single variable:


# %%
def sgd_update(grads, **clip):
    """Apply one SGD(lr=1) step with the given clipping; return w_before - w_after per variable."""
    rng = np.random.default_rng(0)
    variables = [
        keras.Variable(rng.standard_normal(np.shape(gr)).astype("float32")) for gr in grads
    ]
    before = [v.numpy().copy() for v in variables]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, momentum=0.0, **clip)
    optimizer.apply_gradients(
        zip([keras.ops.convert_to_tensor(gr) for gr in grads], variables)
    )
    return [b - v.numpy() for b, v in zip(before, variables)]


book_grad = [np.array([0.9, 100.0], dtype="float32")]
for clip in [{"clipvalue": 1.0}, {"clipnorm": 1.0}]:
    (update,) = sgd_update(book_grad, **clip)
    (reference,) = clip_like_keras(book_grad, **clip)
    print(
        f"SGD({next(iter(clip))}=1.0) applied {np.round(update, 7)}   "
        f"reference {np.round(reference, 7)}   equal: {np.allclose(update, reference, atol=1e-6)}"
    )

# %% [markdown]
# Now a layer with two variables, like a `Dense(2)` on 3 inputs: a kernel with a large gradient
# (norm about 65) and a bias with a small one (norm 0.5, under the threshold). The table gives the
# norm of what Keras applied to each variable, the global norm of the whole update, and the angle
# between the update and the raw gradient.

# %%
kernel_grad = np.array([[30.0, -40.0], [0.5, 20.0], [-10.0, 35.0]], dtype="float32")
bias_grad = np.array([0.3, -0.4], dtype="float32")
grads = [kernel_grad, bias_grad]

rows = {}
for label, clip in [
    ("no clipping", {}),
    ("clipvalue=1", {"clipvalue": 1.0}),
    ("clipnorm=1", {"clipnorm": 1.0}),
    ("global_clipnorm=1", {"global_clipnorm": 1.0}),
    ("clipnorm=0 (!)", {"clipnorm": 0.0}),
]:
    update = sgd_update(grads, **clip)
    reference = clip_like_keras(grads, **clip) if clip.get("clipnorm") != 0.0 else grads
    rows[label] = {
        "‖kernel update‖": np.linalg.norm(update[0]),
        "‖bias update‖": np.linalg.norm(update[1]),
        "global norm": global_norm(update),
        "angle to gradient (°)": round(angle_between(grads, update), 4),
        "= reference": all(np.allclose(u, r, atol=1e-5) for u, r in zip(update, reference)),
    }
pd.DataFrame.from_dict(rows, orient="index")

# %% [markdown]
# - `clipnorm=1` cut the kernel's gradient to norm 1 and left the bias's alone (0.5): the global
#   norm of the step is 1.118, above the threshold, and the step is turned by 26° from the
#   gradient. It preserves the direction *per variable* only: the book's description of `clipnorm`
#   ("clip the whole gradient", "preserving its orientation") holds for one tensor, not for the
#   whole network's gradient.
# - `global_clipnorm=1` scales everything by the same factor: global norm exactly 1, angle 0. This
#   is the clipping of Pascanu et al. (2013) and of `tf.clip_by_global_norm`; the bias' share of the
#   step shrinks with the kernel's.
# - `clipvalue=1` turned the step by 27° and left it with a global norm of 2.35: with $n$
#   parameters the clipped vector can be as long as $v\sqrt n$.
# - `clipnorm=0` is not "clip to zero" and not an error: Keras silently does no clipping at all.
#   The reference functions in `tdnn.clipping` raise a `ValueError` instead.
#
# The unit tests (`tests/test_clipping.py`) check the reference against `tf.clip_by_value`,
# `tf.clip_by_norm`, `tf.clip_by_global_norm` and these one-step updates on random tensors too, and
# check the laws with Hypothesis: clipping by norm keeps the direction (angle 0) with a norm
# $\le c$, clipping by value bounds every component, global clipping scales every tensor by one
# factor.

# %% [markdown]
# ## Exploding gradients in a recurrent network
#
# A simple RNN applies the same recurrent weights $\mathbf W_h$ at every time step,
# $\mathbf h_t = \tanh(\mathbf W_x \mathbf x_t + \mathbf W_h \mathbf h_{t-1} + \mathbf b)$,
# so backpropagation through $T$ steps multiplies the gradient by $T$ Jacobians
# $\operatorname{diag}(\tanh'(\cdot))\,\mathbf W_h^\top$. Pascanu et al. (2013) showed that a largest
# singular value of $\mathbf W_h$ above 1 is necessary for the gradients to explode. We build such
# a network on purpose: a `SimpleRNN(32)` whose recurrent kernel is orthogonal times 1.2 (all
# singular values 1.2; over 50 steps a linear recurrence could amplify by $1.2^{50} \approx 9100$,
# the $\tanh$ damps that), trained with plain SGD at learning rate 0.2.
#
# The task: from 50 noisy values of a sine wave (random frequency and phase, noise
# $\sigma = 0.1$), predict the next value (`tdnn.clipping.noisy_sine_sequences`). Predicting 0
# gives a mean squared error of about 0.5; the noise in the target puts a floor of
# $\sigma^2 = 0.01$ under any model.

# %%
T = 50
x_train, y_train = noisy_sine_sequences(2048, T, noise=0.1, seed=0)
x_valid, y_valid = noisy_sine_sequences(512, T, noise=0.1, seed=1)
print(
    f"train {x_train.shape}, valid {x_valid.shape}; "
    f"MSE of predicting 0 on valid: {np.mean(y_valid**2):.3f}, noise floor: {0.1**2:.3f}"
)


def build_rnn(seed=42):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((T, 1)),
            keras.layers.SimpleRNN(
                32, recurrent_initializer=keras.initializers.Orthogonal(gain=1.2, seed=seed)
            ),
            keras.layers.Dense(1),
        ]
    )


model = build_rnn()
w_h = model.layers[0].cell.recurrent_kernel.numpy()
print(
    f"{model.count_params()} parameters; singular values of W_h: "
    f"{np.linalg.svd(w_h, compute_uv=False).min():.3f} .. {np.linalg.svd(w_h, compute_uv=False).max():.3f}"
)

# %% [markdown]
# `keras.Model.fit` clips inside `apply_gradients` and never shows the raw gradient, so
# `train_with_gradient_log` runs a small custom loop (`tf.GradientTape` + `apply_gradients`) and
# logs, for each step, the batch loss, the global norm $\lVert G\rVert$ of the raw gradient, the
# global norm of the gradient the optimizer applies after its own clipping (computed with the
# reference), and the angle between the two. It stops at the first step whose loss or gradient norm
# is no longer a finite float32 number. Same initial weights and the same batches for every run;
# only the clipping changes.

# %%
steps = profile.pick(book=300, full=1500)
settings = {
    "no clipping": {},
    "clipnorm=1": {"clipnorm": 1.0},
    "global_clipnorm=1": {"global_clipnorm": 1.0},
    "clipvalue=1": {"clipvalue": 1.0},
    "clipvalue=0.1": {"clipvalue": 0.1},
}


def valid_mse(model):
    return float(keras.ops.mean(keras.ops.square(model(x_valid) - y_valid)))


logs, results = {}, {}
for label, clip in settings.items():
    model = build_rnn(seed=42)
    optimizer = keras.optimizers.SGD(learning_rate=0.2, **clip)
    log = train_with_gradient_log(
        model, (x_train, y_train), optimizer, steps, batch_size=32, seed=0
    )
    logs[label] = log
    step = diverged_at(log)
    results[label] = {
        "diverged at step": "—" if step is None else step,
        "train loss (last 20 steps)": log.loss.iloc[-20:].mean(),
        "valid MSE": valid_mse(model),
        "median ‖G‖ raw": log.grad_norm.median(),
        "max ‖G‖ raw": log.grad_norm.max(),
        "median ‖G‖ applied": log.clipped_norm.median(),
        "steps clipped (%)": 100 * np.mean(log.clipped_norm < log.grad_norm * (1 - 1e-6)),
        "median angle (°)": log.angle.median(),
    }
    if step is not None:
        last = log.loc[step]
        print(
            f"{label}: diverged at step {step} (loss = {last.loss:.3g}, ‖G‖ = {last.grad_norm:.3g})"
        )
pd.DataFrame.from_dict(results, orient="index").round(4)

# %% [markdown]
# Without clipping, training ends at step 23: the global norm of the gradient overflows float32
# (its square exceeds $3.4\times10^{38}$) while the loss is already about $10^{36}$, and the
# validation MSE overflows too (`inf`). Every clipped run survives, but
# they do not all learn. The loss curves (the vertical range is cut at $10^3$ so that the others
# stay readable):

# %%
colors = {label: f"C{i}" for i, label in enumerate(settings)}


def plot_per_step(column: str, divergence_note) -> plt.Axes:
    """One line per clipping setting (finite values of ``column``), and a dotted marker with
    ``divergence_note(label, log, step)`` where a run's gradient norm became infinite."""
    fig, ax = plt.subplots()
    for label, log in logs.items():
        finite = np.isfinite(log[column])
        ax.plot(
            log.index[finite],
            log[column][finite],
            color=colors[label],
            lw=1.0,
            alpha=0.85,
            label=label,
        )
        step = diverged_at(log)
        if step is not None:
            ax.axvline(step, color=colors[label], ls=":", lw=1.2)
            ax.annotate(
                divergence_note(label, log, step),
                (step, 0.97),
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                va="top",
                fontsize=8,
                color=colors[label],
            )
    ax.set_yscale("log")
    ax.set_xlabel("training step (batch of 32 sequences)")
    return ax


def loss_note(label, log, step) -> str:
    off_chart = int(log.index[np.argmax(log.loss.to_numpy() > 1e3)])
    return (
        f"{label}: off the chart from step {off_chart},\n"
        f"‖G‖ = inf at step {step} (loss {log.loss[step]:.0e})"
    )


ax = plot_per_step("loss", loss_note)
ax.axhline(np.mean(y_valid**2), color="gray", ls="--", lw=0.8, label="predicting 0")
ax.axhline(0.01, color="k", ls=":", lw=0.8, label="noise floor")
ax.set_ylim(3e-3, 1e3)
ax.set_ylabel("batch MSE (log scale)")
ax.set_title("Batch loss per step: SimpleRNN(32), recurrent gain 1.2, SGD lr=0.2")
ax.legend(ncols=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17))
plt.show()

# %% [markdown]
# And the global norm of the raw gradient, before clipping, on its full range (the unclipped curve
# stops where the norm becomes `inf`):

# %%
ax = plot_per_step("grad_norm", lambda label, log, step: f"{label}: ‖G‖ = inf at step {step}")
ax.axhline(1.0, color="k", ls="--", lw=0.8, label="threshold 1")
ax.set_ylabel("‖G‖ before clipping (log scale)")
ax.set_title("Global norm of the raw gradient")
ax.legend(ncols=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17))
plt.show()

# %% [markdown]
# What the two plots and the table show:
#
# - **`clipnorm=1` and `global_clipnorm=1`** train: the raw gradient is above the threshold in the
#   first steps, but the step is never longer than $\eta \cdot 1 = 0.2$ per variable (per update
#   for the global version), so the spikes cannot throw the weights away. The raw norm soon falls
#   to around or below 1, so the clipping is mostly idle (it was active in 6 % and 13 % of the
#   steps). Both reach a validation MSE of about 0.027, against 0.49 for predicting 0 and a floor
#   of 0.01.
# - **`clipvalue=1`** does not diverge but does not learn either: its loss ends far *above* the
#   0.49 of predicting 0. With 1,121 parameters, capping each component at 1 still allows a clipped
#   gradient of norm up to $\sqrt{1121} \approx 33$ (a step of up to 6.7 at $\eta = 0.2$); it
#   applied gradients of norm about 6 (median) at nearly every step while the raw gradient's median
#   norm was about 34. **`clipvalue=0.1`** trains as well as norm clipping in this run.
#   The threshold of value clipping has to be chosen with the number of parameters in mind; the
#   book's advice to try both kinds with several thresholds and compare them on the validation set
#   is the right one.
#
# ## Anatomy of the divergence
#
# Which gradients exploded? The same unclipped run, logging the norm of each variable's gradient
# (`per_variable=True`) and this time *not* stopping at the first `inf`:

# %%
anatomy = train_with_gradient_log(
    build_rnn(seed=42),
    (x_train, y_train),
    keras.optimizers.SGD(learning_rate=0.2),
    30,
    batch_size=32,
    seed=0,
    per_variable=True,
    stop_on_nonfinite=False,
)
anatomy = anatomy.drop(columns=["clipped_norm", "angle"]).rename(
    columns=lambda c: (
        c.replace("grad_norm[", "‖g‖ ")
        .replace("]", "")
        .replace("SimpleRNN.", "RNN ")
        .replace("Dense.", "Dense ")
    )
)
print(
    f"first non-finite loss: step {diverged_at(anatomy, columns=['loss'])}, "
    f"first NaN loss: step {int(anatomy.index[np.argmax(anatomy.loss.isna().to_numpy())])}"
)
anatomy

# %% [markdown]
# Three phases:
#
# 1. **The recurrent gradients explode** (steps 4 to 8): the gradient of the recurrent kernel
#    $\mathbf W_h$ jumps from about 10 to tens of thousands within four steps; SGD multiplies it by
#    0.2 and moves $\mathbf W_h$ by thousands.
# 2. **The $\tanh$ saturates, and the recurrent gradients vanish**: with such weights the hidden
#    units sit at $\pm 1$, where $\tanh' = 1 - \tanh^2$ rounds to 0 in float32, so from step 9 on
#    the RNN's gradients are exactly 0. Exploding and vanishing gradients in one run.
# 3. **The output layer diverges geometrically.** If every sequence ends in the same saturated
#    state (the measured factor below says they do), the output layer is a linear regression on
#    constant features $\mathbf z = [\mathbf h, 1]$ with $\mathbf h \in \{-1, 1\}^{32}$, so
#    $\lVert\mathbf z\rVert^2 = 33$. One SGD step on the MSE multiplies the mean error by
#    $1 - 2\eta\lVert\mathbf z\rVert^2 = 1 - 0.4 \cdot 33 = -12.2$: each step overshoots, 13.2
#    times as long as the step that would zero the error (stable would need $\eta < 1/33$), and
#    both the error and the gradient grow 12.2-fold per
#    step, the loss $12.2^2 \approx 149$-fold, until float32 gives up: `inf`, and then NaN once
#    `inf - inf` appears. The measured factor:

# %%
dense_norm = anatomy["‖g‖ Dense kernel"]
ratios = (dense_norm / dense_norm.shift(1)).loc[12:22]
print(
    f"predicted growth per step |1 - 2·0.2·33| = {abs(1 - 2 * 0.2 * 33):.1f}; "
    f"measured ratio of ‖g‖ Dense kernel from step to step, steps 12-22: {ratios.min():.2f} .. {ratios.max():.2f}"
)

# %% [markdown]
# With norm clipping (or `clipvalue=0.1`), phase 1 never starts: the largest raw gradient norm of
# those runs, 13.5 in the table, is that of step 1. Their first steps are capped at length 0.2
# (`global_clipnorm`), $0.2\sqrt 5 \approx 0.45$ (`clipnorm`, 0.2 for each of the 5 variables) or
# $0.2 \cdot 0.1\sqrt{1121} \approx 0.67$ (`clipvalue=0.1`), and apparently do not push
# $\mathbf W_h$ into the region where its gradient explodes, as the unclipped steps 1 to 3 (of
# length 2.7, 1.3 and 1.4) did.
#
# How much did each clipping turn the gradient? The angle between the raw and the applied
# gradient, per step (0 when nothing was clipped):


# %%
fig, ax = plt.subplots()
for i, (label, log) in enumerate(logs.items()):
    if label != "no clipping":
        ax.plot(
            log.index,
            log.angle.rolling(10, min_periods=1).mean(),
            color=f"C{i}",
            lw=1.2,
            label=label,
        )
ax.set_xlabel("training step")
ax.set_ylabel("angle (degrees, 10-step mean)")
ax.set_title("Angle between the raw gradient and the applied (clipped) gradient")
ax.legend()
plt.show()

# %% [markdown]
# `global_clipnorm` never turns the gradient (angle 0 up to float32 rounding). Per-variable
# `clipnorm` does while it is active, because it shortens each variable's gradient by a different
# factor: at step 1 (the first row of the anatomy table) the recurrent kernel's gradient of norm
# 12.2 is cut to 1, the output bias's 0.12 is left alone. That turns it the most at the very start
# (the first point of its curve), but `clipnorm` stops turning it once the raw norms fall under 1.
# `clipvalue` keeps turning it whenever some component exceeds the threshold: by tens of degrees
# during the first hundred or so steps, by a few degrees afterwards.
#
# ## Is the divergence a fluke of one seed?
#
# One run can be lucky or unlucky. Five different initializations (and batch orders), without
# clipping and with `global_clipnorm=1`:

# %%
seeds = profile.pick(book=range(5), full=range(20))
sweep_steps = profile.pick(book=150, full=1500)
rows = {}
for seed in seeds:
    row = {}
    for label in ["no clipping", "global_clipnorm=1"]:
        model = build_rnn(seed=seed)
        optimizer = keras.optimizers.SGD(learning_rate=0.2, **settings[label])
        log = train_with_gradient_log(
            model, (x_train, y_train), optimizer, sweep_steps, batch_size=32, seed=seed
        )
        step = diverged_at(log)
        row[f"{label}: diverged at"] = "—" if step is None else step
        row[f"{label}: valid MSE"] = valid_mse(model)
    rows[seed] = row
sweep = pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")
n_div = {
    label: int((sweep[f"{label}: diverged at"] != "—").sum())
    for label in ["no clipping", "global_clipnorm=1"]
}
print(
    f"{sweep_steps} steps per run. Diverged: without clipping {n_div['no clipping']}/{len(sweep)}, "
    f"with global_clipnorm=1 {n_div['global_clipnorm=1']}/{len(sweep)}"
)
sweep.round(4)

# %% [markdown]
# The divergence is not a fluke: the unclipped network blows up for every seed, the clipped one
# trains for every seed (validation MSE 0.028 to 0.058, against 0.49 for predicting 0). How often
# exploding gradients strike depends on how close to the edge the training runs (exercise 2 moves it
# back a little); clipping is insurance against the bad draws.
#
# ## Key takeaways
#
# - Clipping by value caps each component and can turn the step (41.5° for the book's example);
#   clipping by norm rescales and keeps the direction.
# - In Keras 3, `clipnorm` clips **each variable's** gradient by its own norm, which keeps each
#   variable's direction but not the whole gradient's; `global_clipnorm` is the norm clipping of
#   Pascanu et al. (2013). A threshold of 0 means *no* clipping, silently.
# - Clipping does not remove the cause of exploding gradients, but it bounds the step to
#   $\eta \cdot c$ (per variable with `clipnorm`): here it turned a network that overflowed within
#   a few dozen steps into one that reached a validation MSE of about 0.027 (predicting 0: 0.49;
#   noise floor: 0.01).
# - The threshold matters. A value threshold that is small per component can still allow long
#   steps in a network with many parameters; monitor the raw gradient norm (as
#   `train_with_gradient_log` does) to choose it.
#
# ## Exercises
#
# 1. Rerun the RNN experiment with `global_clipnorm` thresholds of 0.01, 10 and 1000. Where does
#    clipping stop preventing the divergence, and what do the loss and gradient-norm plots show at
#    the other end?
# 2. Halve the learning rate (0.1) and rerun the five-seed sweep without clipping. How many seeds
#    still diverge? Then set the recurrent initializer's gain to 1.0 (a plain orthogonal matrix).
# 3. Keras' `clipnorm` clips each variable separately. Build a two-variable example where
#    `clipnorm=1` turns the step by more than 45° while `global_clipnorm=1` does not turn it at all
#    (hint: one large and one small gradient). Can per-variable clipping ever make the step longer
#    than the raw gradient?
