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
# # 3. Activation functions
#
# Glorot and Bengio (2010) traced unstable gradients partly to the logistic activation. The chapter's
# section "Better Activation Functions" then walks through ReLU and its leaky, randomized and
# parametric variants, ELU and SELU, and the newer GELU, Swish and Mish. In this notebook you will see:
#
# 1. every activation and its derivative, written in NumPy (`tdnn.activations`) and checked against Keras;
# 2. RReLU as a small Keras layer (random slope while training, mean slope at inference);
# 3. PReLU's learned slopes after a short training;
# 4. dying ReLUs, counted after training with a normal and a large learning rate;
# 5. SELU's self-normalization through 100 layers, and what breaks it;
# 6. all eight activations trained on the same Fashion-MNIST subset, compared with the book's ranking.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf

from tdnn import activations as act
from tdnn.activation_layers import RReLU
from tdnn.data import load_fashion_mnist, subset
from tdnn.diagnostics import dead_unit_fraction, layer_outputs
from tdnn.models import build_mlp
from tdnn.plotting import plot_per_layer, plot_with_derivatives
from tdnn.training import fit, format_duration, format_ratio

full = load_fashion_mnist()
data = subset(
    full, profile.pick(book=5_000, full=55_000), profile.pick(book=2_000, full=5_000)
)
# The book standardizes with the training set's per-pixel statistics (needed for SELU).
pixel_means, pixel_stds = full.train.x.mean(axis=0), full.train.x.std(axis=0)
X_train = (data.train.x - pixel_means) / pixel_stds
X_valid = (data.valid.x - pixel_means) / pixel_stds
print(f"train {X_train.shape}, valid {X_valid.shape}")

# %% [markdown]
# ## 1. The functions and their derivatives
#
# The saturating classics: $\sigma(z) = 1/(1+e^{-z})$ with $\sigma'(z) = \sigma(z)(1-\sigma(z)) \le 0.25$,
# and $\tanh(z) = 2\sigma(2z) - 1$ with $\tanh'(z) = 1 - \tanh^2(z) \le 1$. Then the ReLU family:
#
# $$\mathrm{ReLU}(z) = \max(z, 0), \qquad \mathrm{LeakyReLU}_\alpha(z) = \max(\alpha z, z),$$
#
# $$\mathrm{ELU}_\alpha(z) = \begin{cases}\alpha(\exp(z) - 1) & \text{if } z < 0\\ z & \text{if } z \ge 0\end{cases}
# \quad\text{(Eq. 11-2)}, \qquad \mathrm{SELU}(z) = \lambda\,\mathrm{ELU}_{\alpha}(z),\ \alpha \approx 1.6733,\ \lambda \approx 1.0507,$$
#
# and the smooth, non-monotonic newcomers (Eq. 11-3 for GELU, with $\Phi$ the standard normal CDF):
#
# $$\mathrm{GELU}(z) = z\,\Phi(z), \qquad \mathrm{Swish}_\beta(z) = z\,\sigma(\beta z)\ (\beta = 1:\ \text{SiLU}), \qquad
# \mathrm{Mish}(z) = z \tanh(\mathrm{softplus}(z)).$$
#
# Each has an analytic derivative in `tdnn.activations`; at the kink $z = 0$ they follow TensorFlow's
# convention (ReLU: 0, leaky ReLU: $\alpha$, ELU/SELU: the $z \ge 0$ branch).

# %%
z = np.linspace(-4, 4, 401)
classic = {
    "sigmoid": (act.sigmoid, act.sigmoid_derivative),
    "tanh": (act.tanh, act.tanh_derivative),
    "ReLU": (act.relu, act.relu_derivative),
    "leaky ReLU (α=0.2)": (
        lambda z: act.leaky_relu(z, 0.2),
        lambda z: act.leaky_relu_derivative(z, 0.2),
    ),
    "ELU (α=1)": (act.elu, act.elu_derivative),
    "SELU": (act.selu, act.selu_derivative),
}
ax1, _ = plot_with_derivatives(classic, z=z, title="Classic and ReLU-family activations")
ax1.set_ylim(-2, 4)
plt.show()

# %% [markdown]
# The logistic function's slope never exceeds 0.25, and both saturating functions have a flat
# derivative for $|z| \gtrsim 3$: that is where the gradients vanish. ReLU's slope is exactly 0 for
# $z < 0$ (the seed of *dying* ReLUs, section 4); leaky ReLU keeps a slope $\alpha$; ELU and SELU
# have a negative part that saturates at $-\alpha$ (resp. $-\lambda\alpha \approx -1.758$).

# %%
newer = {
    "GELU": (act.gelu, act.gelu_derivative),
    "Swish / SiLU (β=1)": (act.swish, act.swish_derivative),
    "Swish (β=0.6)": (lambda z: act.swish(z, 0.6), lambda z: act.swish_derivative(z, 0.6)),
    "Mish": (act.mish, act.mish_derivative),
    "ReLU": (act.relu, act.relu_derivative),
}
plot_with_derivatives(newer, z=z, title="GELU, Swish and Mish (book Fig. 11-4)")
plt.show()

# %% [markdown]
# **Checked against Keras.** Each NumPy function is compared with its Keras counterpart on a grid of
# 1,201 points in $[-6, 6]$ (which includes $z = 0$), and each analytic derivative with the gradient
# that `tf.GradientTape` computes through the Keras function. The leaky ReLU and ELU rows use the
# Keras *layers* (`keras.layers.LeakyReLU(negative_slope=...)`, `keras.layers.ELU()`).
# `tests/test_activations.py` asserts the same to $10^{-6}$.

# %%
grid = np.linspace(-6.0, 6.0, 1201)
keras_versions = {
    "sigmoid": (keras.activations.sigmoid, act.sigmoid, act.sigmoid_derivative),
    "tanh": (keras.activations.tanh, act.tanh, act.tanh_derivative),
    "relu": (keras.activations.relu, act.relu, act.relu_derivative),
    "LeakyReLU(0.01)": (
        keras.layers.LeakyReLU(negative_slope=0.01),
        lambda z: act.leaky_relu(z, 0.01),
        lambda z: act.leaky_relu_derivative(z, 0.01),
    ),
    "LeakyReLU(0.2)": (
        keras.layers.LeakyReLU(negative_slope=0.2),
        lambda z: act.leaky_relu(z, 0.2),
        lambda z: act.leaky_relu_derivative(z, 0.2),
    ),
    "ELU()": (keras.layers.ELU(), act.elu, act.elu_derivative),
    "selu": (keras.activations.selu, act.selu, act.selu_derivative),
    "gelu": (keras.activations.gelu, act.gelu, act.gelu_derivative),
    "swish": (keras.activations.swish, act.swish, act.swish_derivative),
    "mish": (keras.activations.mish, act.mish, act.mish_derivative),
}
rows = {}
for name, (keras_fn, f, df) in keras_versions.items():
    x = tf.constant(grid, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(keras_fn(x), tf.float64)
        total = tf.reduce_sum(y)
    g = tape.gradient(total, x)
    rows[name] = {
        "max |Δφ| ≤ 1e-6": bool(np.max(np.abs(f(grid) - np.asarray(y))) <= 1e-6),
        "max |Δφ'| ≤ 1e-6": bool(np.max(np.abs(df(grid) - np.asarray(g))) <= 1e-6),
    }
pd.DataFrame(rows).T

# %% [markdown]
# A few Keras 3 facts worth knowing (the cell below checks the defaults and values; the SELU constants
# are checked in `tests/test_activations.py`):
#
# * `LeakyReLU(alpha=0.2)` from the book is deprecated (it still works, with a warning): use
#   `LeakyReLU(negative_slope=0.2)`. The layer still defaults to 0.3, but the string `"leaky_relu"`
#   (`keras.activations.leaky_relu`) uses **0.2**.
# * `activation="gelu"` is the **exact** $z\Phi(z)$ (`approximate=False`), whereas `keras.ops.gelu`
#   defaults to the tanh approximation.
# * `"swish"` and `"silu"` are the same function ($\beta = 1$); there is no $\beta$ argument, and no
#   generalized-Swish layer, but `"mish"` now exists (the book says Keras lacked it).
# * SELU's constants are not rounded to 1.6733 and 1.0507: Keras (through `tf.nn.selu`) uses them at
#   full float64 precision (the values printed below are `tdnn.activations`' copies).

# %%
print("LeakyReLU() default negative_slope:", keras.layers.LeakyReLU().negative_slope)
print(
    "'leaky_relu'(-1) =",
    round(float(keras.activations.get("leaky_relu")(tf.constant(-1.0))), 4),
)
print(
    "'gelu'(1) =",
    round(float(keras.activations.get("gelu")(tf.constant(1.0))), 6),
    " exact:",
    round(float(act.gelu(1.0)), 6),
    " keras.ops.gelu(1) =",
    round(float(keras.ops.gelu(tf.constant(1.0))), 6),
    " tanh approx.:",
    round(float(act.gelu(1.0, approximate=True)), 6),
)
print(
    "'swish' is 'silu':",
    keras.activations.get("swish") is keras.activations.get("silu"),
    " 'mish'(1) =",
    round(float(keras.activations.get("mish")(tf.constant(1.0))), 6),
    " reference:",
    round(float(act.mish(1.0)), 6),
)
print(f"SELU alpha = {act.SELU_ALPHA!r}, scale (lambda) = {act.SELU_SCALE!r}")

# %% [markdown]
# **Why those SELU constants?** Klambauer et al. (2017) chose $\alpha$ and $\lambda$ so that a
# standard normal input $z \sim \mathcal N(0, 1)$ gives an output with mean exactly 0 and variance
# exactly 1: $(0, 1)$ is a fixed point of the layer-to-layer mapping. Numerical integration confirms
# it, and shows that plain ELU does not have this property:
# $\mathbb E[\varphi(z)] = \int \varphi(z)\,\phi(z)\,dz$ with $\phi$ the normal density.

# %%
zz = np.linspace(-12, 12, 240_001)
pdf = np.exp(-(zz**2) / 2) / np.sqrt(2 * np.pi)
moments = {}
for name, f in {
    "SELU": act.selu,
    "ELU (α=1)": act.elu,
    "ReLU": act.relu,
    "tanh": act.tanh,
}.items():
    mean = np.trapezoid(f(zz) * pdf, zz)
    moments[name] = {
        "E[φ(z)]": mean,
        "Var[φ(z)]": np.trapezoid(f(zz) ** 2 * pdf, zz) - mean**2,
    }
pd.DataFrame(moments).T.round(4)

# %% [markdown]
# **GELU's shape and its approximations.** The book says GELU dips to about $-0.17$ near
# $z \approx -0.75$, and that $z\,\sigma(1.702 z)$ (i.e. Swish with $\beta = 1.702$) approximates it well.

# %%
i = int(np.argmin(act.gelu(zz)))
print(f"GELU minimum: {act.gelu(zz[i]):.4f} at z = {zz[i]:.3f}")
print(
    f"max |GELU - z*sigmoid(1.702 z)| on [-6, 6]: {np.max(np.abs(act.gelu(grid) - act.swish(grid, act.GELU_SIGMOID_BETA))):.4f}"
)
print(
    f"max |GELU - tanh approximation| on [-6, 6]: {np.max(np.abs(act.gelu(grid) - act.gelu(grid, approximate=True))):.6f}"
)

# %% [markdown]
# The sigmoid approximation is off by up to about 0.02, the tanh form by under $10^{-3}$: fine for
# training, but not interchangeable when you compare numbers with another implementation.
#
# ## 2. RReLU: a random slope while training
#
# Xu et al. (2015) also evaluated the *randomized* leaky ReLU: while training, the slope $\alpha$ is
# drawn uniformly in $[l, u]$ for every element; at test time it is fixed to the average. Keras has no
# RReLU, so `tdnn.activation_layers.RReLU` implements it (about 30 lines of code:
# `keras.random.uniform` with a `keras.random.SeedGenerator`, and `get_config` for saving). Feeding
# it $z = -1$ reads the slopes directly: $\mathrm{RReLU}(-1) = -\alpha$.

# %%
rrelu = RReLU(lower=0.1, upper=0.3, seed=42)
minus_ones = -np.ones((1_000, 100), np.float32)
slopes_train = -np.asarray(rrelu(minus_ones, training=True))
slopes_infer = -np.asarray(rrelu(minus_ones, training=False))
pd.DataFrame(
    {
        "training=True": [
            slopes_train.min(),
            slopes_train.max(),
            slopes_train.mean(),
            slopes_train.std(),
            len(np.unique(slopes_train)),
        ],
        "training=False": [
            slopes_infer.min(),
            slopes_infer.max(),
            slopes_infer.mean(),
            slopes_infer.std(),
            len(np.unique(slopes_infer)),
        ],
    },
    index=["min slope", "max slope", "mean slope", "std", "distinct values"],
).round(4)

# %% [markdown]
# In training mode the 100,000 slopes fill $[0.1, 0.3]$ (standard deviation $0.2/\sqrt{12} \approx 0.058$);
# at inference every element gets exactly $(l+u)/2 = 0.2$. (Positive inputs, not tested here, pass
# unchanged in both modes by construction.) (Xu et al. divide by the mean of their $a \in [3, 8]$ at
# test time, which is a slightly different average; `RReLU()`'s defaults $l = 1/8$, $u = 1/3$ are
# their $1/a$ range.)
#
# ## 3. PReLU: slopes learned by backpropagation
#
# `keras.layers.PReLU` learns one $\alpha$ per unit (`shared_axes` can share them). Its default
# `alpha_initializer="zeros"` means it **starts as a plain ReLU**. After a short training:

# %%
keras.utils.set_random_seed(42)
prelu_model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten()])
for _ in range(3):
    prelu_model.add(keras.layers.Dense(100, kernel_initializer="he_normal"))
    prelu_model.add(keras.layers.PReLU())
prelu_model.add(keras.layers.Dense(10, activation="softmax"))
prelu_history = fit(
    prelu_model,
    (X_train, data.train.y),
    valid=(X_valid, data.valid.y),
    epochs=profile.pick(book=4, full=10),
    batch_size=128,
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    seed=42,
)
prelu_layers = [
    layer for layer in prelu_model.layers if isinstance(layer, keras.layers.PReLU)
]
alpha_stats = pd.DataFrame(
    {
        f"PReLU layer {i}": {
            "mean α": float(np.mean(layer.alpha)),
            "std α": float(np.std(layer.alpha)),
            "min α": float(np.min(layer.alpha)),
            "max α": float(np.max(layer.alpha)),
            "share α < 0": float(np.mean(np.asarray(layer.alpha) < 0)),
        }
        for i, layer in enumerate(prelu_layers, start=1)
    }
).T
print(
    f"validation accuracy after {len(prelu_history)} epochs: {prelu_history['val_accuracy'].iloc[-1]:.4f}"
)
alpha_stats.round(3)

# %% [markdown]
# The slopes barely moved from their starting value 0: after 160 Adam steps every $|\alpha|$ is
# below 0.05, the mean is about 0, and 39 to 55 % of them (depending on the layer) are *negative*
# (a negative slope makes the unit non-monotonic: it outputs $|\alpha z| > 0$ for $z < 0$). On this
# small task PReLU stayed close to a plain ReLU rather than discovering a leaky ReLU with a sizeable
# leak. He et al. (2015), who introduced PReLU, started from $\alpha = 0.25$
# (`alpha_initializer=keras.initializers.Constant(0.25)`) and reported its gains on ImageNet; the book
# warns that on smaller data sets the extra parameters may overfit.
#
# ## 4. Dying ReLUs
#
# "A neuron dies when its weights get tweaked in such a way that the input of the ReLU function […]
# is negative for all instances in the training set" — then its gradient is 0 and it stays dead. The
# book warns that half of a network's neurons may die, "especially if you used a large learning rate".
#
# We train the same 5×100 He-initialized MLP (raw $[0, 1]$ pixels, as in the book's Fashion-MNIST
# models) with Adam at its default learning rate $10^{-3}$ and at a large one, $3 \cdot 10^{-2}$
# (then also with leaky ReLUs), and count the hidden
# units that output 0 for **every** validation image (`tdnn.diagnostics.dead_unit_fraction`, averaged
# over the 5 hidden layers).
# For leaky ReLU that count is 0 by construction (its output is $\alpha z \ne 0$), so we also count the
# units whose output is $\le 0$ for every image (`tdnn.activations.inactive_unit_fraction`): they are
# "in a coma" rather than dead, because their gradient is $\alpha$, not 0.


# %%
class InactiveTracker(keras.callbacks.Callback):
    """After each epoch, the % of hidden units whose output is <= 0 on every validation image."""

    def __init__(self, x):
        super().__init__()
        self.x, self.history = x, []

    def measure(self, model) -> float:
        return 100 * float(
            np.mean(
                [act.inactive_unit_fraction(a) for a in layer_outputs(model, self.x)[:-1]]
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        self.history.append(self.measure(self.model))


def dying_experiment(activation, learning_rate: float, epochs: int) -> dict:
    """Train a 5x100 He-init MLP with Adam on raw pixels; return accuracy and dead/inactive units."""
    model = build_mlp(
        [100] * 5, activation=activation, kernel_initializer="he_normal", seed=42
    )
    tracker = InactiveTracker(data.valid.x)
    at_init = tracker.measure(model)
    history = fit(
        model,
        data.train,
        valid=data.valid,
        epochs=epochs,
        batch_size=32,
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        callbacks=[tracker],
        seed=42,
    )
    return {
        "val accuracy": history["val_accuracy"].iloc[-1],
        "dead (always 0) %": 100 * dead_unit_fraction(model, data.valid.x).mean(),
        **{f"inactive % epoch {e}": v for e, v in enumerate([at_init, *tracker.history])},
    }


dying_epochs = profile.pick(book=3, full=10)
runs = [
    ("0.001", "ReLU", "relu"),
    ("0.03", "ReLU", "relu"),
    ("0.03", "leaky ReLU α=0.01", keras.layers.LeakyReLU(negative_slope=0.01)),
    ("0.03", "leaky ReLU α=0.2", keras.layers.LeakyReLU(negative_slope=0.2)),
]
dying = {
    (lr, label): dying_experiment(activation, float(lr), dying_epochs)
    for lr, label, activation in runs
}
dying_table = pd.DataFrame(dying).T.astype(float).round(3)
dying_table.index.names = ["Adam lr", "activation"]
dying_table

# %%
fig, ax = plt.subplots()
for (lr, label), d in dying.items():
    ax.plot(
        range(dying_epochs + 1),
        [d[f"inactive % epoch {e}"] for e in range(dying_epochs + 1)],
        marker="o",
        markersize=3,
        linestyle="-" if lr == "0.03" else ":",
        label=f"{label}, lr={lr}",
    )
ax.set_title("Hidden units inactive on every validation image (Adam, 5×100 MLP)")
ax.set_xlabel("epoch (0 = initialization)")
ax.set_ylabel("inactive units (%)")
ax.set_xticks(range(dying_epochs + 1))
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# What the table and the curves show (5,000 training images, 2,000 validation images):
#
# * **Normal learning rate** ($10^{-3}$): about 6% of the ReLUs end up dead (under 2% at
#   initialization), and the network reaches about 74% validation accuracy.
# * **Large learning rate** ($3 \cdot 10^{-2}$): within the first epoch, 60% of the ReLUs die, and
#   three quarters are dead after three epochs; accuracy falls below 60%. The book's "half of your
#   network's neurons" is, if anything, an understatement here. At this rate the dead fraction only
#   grows, whereas at the normal rate a few dead ReLUs came back after epoch 1 (the book's footnote:
#   the layers below can move a dead unit's inputs back into the positive range).
# * A **small leak does not save you**: with α = 0.01, no unit outputs exactly 0, but almost 80% are
#   negative for every image after three epochs, and this network did *worse* than the ReLU one.
#   A gradient of 0.01 is apparently too weak to pull a unit out of its coma quickly.
# * A **large leak does**: with α = 0.2, about half the units fall into a coma in epoch 1, and most
#   wake up again (about 10% are left after epoch 3): "they can go into a long coma, but they have a
#   chance to eventually wake up". Its accuracy is close to the normal-learning-rate run. This is
#   consistent with the book's (and Xu et al.'s) observation that α = 0.2 works better than
#   α = 0.01, though from one seed and one (too large) learning rate.
#
# The book defines a dead neuron on the *training* set; we count on the 2,000 validation images, so
# a unit counted as dead here might fire on some rare training image.
#
# ## 5. SELU's self-normalization, and what breaks it
#
# Klambauer et al.'s claim, as the book states it: in a plain stack of dense SELU layers with
# LeCun-normal weights and standardized inputs, every layer's output keeps mean ≈ 0 and standard
# deviation ≈ 1. We push 1,000 validation images through a **100-layer** net of 100 units (no
# training: this is about the forward pass at initialization) and measure each layer's output, then
# change one condition at a time: raw $[0, 1]$ pixels, standardized inputs scaled by 3, He-normal
# weights (variance $2/\text{fan}_\text{in}$ instead of $1/\text{fan}_\text{in}$), and `Dropout(0.2)`
# after each layer in training mode, versus `AlphaDropout(0.2)`, the variant designed for SELU.


# %%
def deep_selu(
    kernel_initializer: str = "lecun_normal", dropout=None, depth: int = 100, seed: int = 42
) -> keras.Model:
    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(784,))]
    for _ in range(depth):
        layers.append(
            keras.layers.Dense(
                100, activation="selu", kernel_initializer=kernel_initializer
            )
        )
        if dropout is not None:
            layers.append(dropout(0.2))
    return keras.Sequential(layers)


def per_layer_stats(
    model: keras.Model, x: np.ndarray, training: bool = False
) -> pd.DataFrame:
    """Mean and std of every Dense layer's output, running the layers one by one (dropout needs training=True)."""
    h, rows = keras.ops.convert_to_tensor(x.reshape(len(x), -1)), []
    for layer in model.layers:
        h = layer(h, training=training)
        if isinstance(layer, keras.layers.Dense):
            a = np.asarray(h)
            rows.append({"mean": a.mean(), "std": a.std()})
    return pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="layer"))


x_std, x_raw = X_valid[:1000], data.valid.x[:1000]
selu_net = deep_selu()  # the same network for the three kinds of inputs
selu_runs = {
    "standardized + LeCun": per_layer_stats(selu_net, x_std),
    "raw [0, 1] pixels": per_layer_stats(selu_net, x_raw),
    "standardized × 3": per_layer_stats(selu_net, 3 * x_std),
    "He-normal weights": per_layer_stats(deep_selu("he_normal"), x_std),
    "Dropout(0.2), training": per_layer_stats(
        deep_selu(dropout=keras.layers.Dropout), x_std, training=True
    ),
    "AlphaDropout(0.2), training": per_layer_stats(
        deep_selu(dropout=keras.layers.AlphaDropout), x_std, training=True
    ),
}
ok = selu_runs["standardized + LeCun"].astype(float)
print(
    f"standardized + LeCun, all 100 layers: mean in [{ok['mean'].min():.3f}, {ok['mean'].max():.3f}], "
    f"std in [{ok['std'].min():.3f}, {ok['std'].max():.3f}]"
)
pd.concat(
    {name: s.loc[[1, 10, 50, 100]] for name, s in selu_runs.items()}, axis=1
).T.astype(float).round(3)

# %%
plot_per_layer(
    selu_runs,
    "std",
    title="SELU, 100 dense layers: output std per layer (at initialization)",
    ylabel="std of the layer's outputs (log scale)",
)
plt.show()

# %% [markdown]
# * **The claim holds.** With standardized inputs and LeCun-normal weights, every one of the 100
#   layers keeps its mean within 0.1 of 0 and its standard deviation within 10% of 1 (the printed
#   ranges), with no drift from layer 1 to layer 100.
# * **He initialization breaks it**: twice the weight variance makes the standard deviation grow layer
#   after layer, to about 300 at layer 100 (with a mean of about 200). The (0, 1) fixed point needs
#   the weight variance $1/\text{fan}_\text{in}$ of LeCun initialization.
# * **Regular dropout breaks it** (in training mode): the statistics drift to another fixed point,
#   mean ≈ 0.18 and std ≈ 1.5, while at inference dropout is off and the network is a plain
#   LeCun + SELU stack like the first row (not measured here), back at (0, 1): training and
#   inference no longer match. `AlphaDropout` keeps mean 0 and std 1, which is what it was designed
#   for.
# * **Non-standardized inputs did *not* break the forward pass** here, contrary to what one might
#   read into the book's first condition: raw $[0, 1]$ pixels start at std ≈ 0.5 and inputs scaled
#   by 3 at std ≈ 2.4, and both are pulled back toward (0, 1): the scaled inputs are at std 1.05 by
#   layer 10, the raw pixels climb more slowly (0.84 at layer 10, 0.94 at layer 50; see the figure).
#   That is exactly the *attracting* fixed point Klambauer et al. prove. What standardization buys
#   is that the first layers are already normalized; and we only looked at the forward pass at
#   initialization, not at training.
#
# ## 6. Eight activations on the same Fashion-MNIST subset
#
# Same architecture for all (5 hidden layers of 100 units), standardized inputs, SGD with momentum
# 0.9 at learning rate 0.02, batch 128, the same seeds; each activation gets its matching initializer:
# Glorot for sigmoid and tanh, He for the ReLU family, GELU and Swish, LeCun for SELU. `"leaky_relu"`
# is Keras' function with α = 0.2.

# %%
candidates = {
    "sigmoid": "glorot_uniform",
    "tanh": "glorot_uniform",
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "selu": "lecun_normal",
    "gelu": "he_normal",
    "swish": "he_normal",
}
seeds = profile.pick(book=(42, 43), full=(42, 43, 44))
cmp_epochs = profile.pick(book=4, full=20)
histories = {}
for seed in seeds:
    for name, init in candidates.items():
        model = build_mlp([100] * 5, activation=name, kernel_initializer=init, seed=seed)
        histories[(name, seed)] = fit(
            model,
            (X_train, data.train.y),
            valid=(X_valid, data.valid.y),
            epochs=cmp_epochs,
            batch_size=128,
            optimizer=keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
            seed=seed,
        )

final_acc = {
    name: [histories[(name, s)]["val_accuracy"].iloc[-1] for s in seeds]
    for name in candidates
}
comparison = pd.DataFrame(
    {
        f"val acc (seed {s})": {n: a[i] for n, a in final_acc.items()}
        for i, s in enumerate(seeds)
    }
)
comparison["mean val acc"] = comparison.mean(axis=1)
comparison["final train loss"] = [
    np.mean([histories[(n, s)]["loss"].iloc[-1] for s in seeds]) for n in comparison.index
]
comparison = comparison.astype(float).round(4)
# Time per epoch: the median over epochs 2+ (epoch 1 also traces the training graph) and seeds.
comparison["time/epoch"] = [
    format_duration(
        float(np.median([histories[(n, s)]["seconds"].iloc[1:] for s in seeds]))
    )
    for n in comparison.index
]
comparison.sort_values("mean val acc", ascending=False)

# %%
fig, ax = plt.subplots()
for name in candidates:
    if name == "sigmoid":
        continue  # flat at chance level (0.10): it would squash the other curves
    for seed, style in zip(seeds, ["-", ":", "--"]):
        ax.plot(
            range(1, cmp_epochs + 1),
            histories[(name, seed)]["val_accuracy"],
            linestyle=style,
            color=f"C{list(candidates).index(name)}",
            label=name if seed == seeds[0] else None,
        )
ax.set_title(
    f"Validation accuracy per seed (solid: {seeds[0]}, dotted: {seeds[1]}); sigmoid not shown"
)
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy")
ax.set_xticks(range(1, cmp_epochs + 1))
ax.legend(ncol=2)
plt.show()

# %% [markdown]
# What we measured (book profile: 5,000 training images, 4 epochs, 2 seeds):
#
# * **The logistic function is last, clearly**: the 5-layer logistic network is still at chance level
#   (loss ≈ 2.31, about ln 10, the loss of a uniform guess) after 4 epochs: it has not left its
#   initial plateau, the symptom Glorot and Bengio (2010) studied. Tanh, with the same Glorot
#   initialization, trains fine.
# * **Everything else is a tie**: the other seven activations end within about 2 accuracy points of
#   each other, while the *same* activation moves by 1 to 3 points from one seed to the other (SELU:
#   from about 80% to about 83.5%), and seed 43 beat seed 42 for every one of them (the figure). On
#   one subset with one or two seeds, the order among them is noise.
# * **The book's ranking.** The 2nd edition says "in general SELU > ELU > leaky ReLU (and its
#   variants) > ReLU > tanh > logistic"; we reproduce only the last place. Here Swish happened to come
#   first and leaky ReLU last, and neither is significant. The 3rd edition softened this into advice
#   that fits our result better: "ReLU remains a good default for simple tasks", Swish "is probably a
#   better default for more complex tasks", and SELU is worth a try for *deep* MLPs (respecting its
#   conditions). A 5-layer MLP on Fashion-MNIST is a simple task.
#
# `TDNN_PROFILE=full` trains on all 55,000 images for 20 epochs with 3 seeds (a long run; the stored
# outputs come from the book profile and we have not run the full version for this page).
#
# **What does the activation itself cost?** The book says ELU is slower to compute than ReLU, that GELU
# is "a bit more computationally intensive", and that $z\,\sigma(1.702 z)$ is "much faster to compute".
# The per-epoch times above mix the activation with matrix products, data handling and other jobs on
# this shared machine. Timing the activation alone on $4 \cdot 10^6$ numbers isolates it; we time it
# inside a `tf.function` (a compiled graph, as during training: run eagerly, op-by-op overheads
# dominate and distort the picture) and keep the best of 20 calls.

# %%
x_big = tf.constant(np.random.default_rng(0).normal(size=(4000, 1000)).astype(np.float32))


def best_time(f, repeats: int = 20) -> float:
    f = tf.function(f)
    f(x_big)  # trace and warm up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        f(x_big)
        best = min(best, time.perf_counter() - start)
    return best


timed = {
    name: keras.activations.get(name)
    for name in [
        "relu",
        "leaky_relu",
        "tanh",
        "sigmoid",
        "elu",
        "selu",
        "swish",
        "gelu",
        "mish",
    ]
}
timed["gelu (tanh approx.)"] = lambda x: keras.activations.gelu(x, approximate=True)
timed["z·σ(1.702 z)"] = lambda x: x * keras.activations.sigmoid(1.702 * x)
seconds = {name: best_time(f) for name, f in timed.items()}
pd.DataFrame(
    {
        "time for 4M values": {n: format_duration(t, "ms") for n, t in seconds.items()},
        "relative to ReLU": {
            n: format_ratio(t / seconds["relu"]) for n, t in seconds.items()
        },
    }
)

# %% [markdown]
# **Exact GELU is the expensive one**: several times ReLU's cost in every run we made (5 to 7×), as
# the book says. Both of its approximations are cheaper, $z\,\sigma(1.702 z)$ the most (1.7× faster
# than exact GELU in the stored run), in line with the book's "much faster to compute". Everything
# else (leaky ReLU, tanh, sigmoid, ELU, SELU, Swish, Mish) stayed far below exact GELU (at most about
# 1.5× ReLU in the stored run, up to 2.6× in our reruns), and their order changed from run to run:
# for such simple elementwise operations, moving 16 MB in and out of memory probably costs as much
# as the arithmetic. The book's "ELU is slower to compute than ReLU" holds (1.5× here), but the gap
# is modest. In an MLP the activation is only one part of each step (the 784×100 matrix product is
# another), which is why the per-epoch times of the training table differ much less (and, being
# noisy, not even in the same order).
#
# ## Key takeaways
#
# * ReLU-family functions do not saturate for $z > 0$; the logistic function's slope never exceeds
#   0.25, and a 5-layer logistic net did not even start learning in our budget.
# * Dying ReLUs are real and fast: a too-large learning rate killed three quarters of the units in
#   three epochs. A leak of 0.01 did not help; a leak of 0.2 let comatose units recover.
# * SELU self-normalizes: (0, 1) is an attracting fixed point through 100 layers with LeCun weights,
#   even from unstandardized inputs at initialization, but He weights or regular dropout destroy it
#   (`AlphaDropout` keeps it).
# * On a simple task the choice among modern activations (ReLU, leaky ReLU, ELU, SELU, GELU, Swish)
#   mattered less than the random seed; only the logistic function was clearly worse. That fits the
#   3rd edition's advice: ReLU for simple tasks and speed, Swish for complex ones. Exact GELU
#   is the costliest to compute; $z\,\sigma(1.702 z)$ is a cheaper stand-in.
# * Keras 3 details: `LeakyReLU(negative_slope=...)` (layer default 0.3, string `"leaky_relu"` 0.2),
#   `"gelu"` is exact while `keras.ops.gelu` defaults to the tanh approximation, `"swish"` is
#   `"silu"`, `"mish"` exists. RReLU and a β-Swish are not in Keras: `tdnn.activation_layers.RReLU`
#   is one, exercise 2 is the other.
#
# ## Exercises
#
# 1. Train the section 6 comparison with 20 hidden layers instead of 5 (and SELU with standardized
#    inputs). Does SELU pull ahead when the network is deep, as Klambauer et al. report?
# 2. Write a `Swish` layer with a trainable $\beta$ (one per unit, like PReLU's $\alpha$), train it
#    like the PReLU model of section 3 and look at the learned $\beta$ values.
# 3. Repeat the dying-ReLU experiment with plain SGD: at which learning rate do ReLUs start dying, and
#    does the network still train there?
