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
# # 1. The vanishing/exploding gradients problems
#
# Backpropagation sends the error gradient from the output layer down to the input layer, applying
# the chain rule one layer at a time. In a deep network this product of many per-layer factors tends
# to shrink towards zero (**vanishing gradients**: the lower layers barely learn) or to grow without
# bound (**exploding gradients**: training diverges). Glorot and Bengio (2010) traced much of it to
# the then-popular combination of the logistic (sigmoid) activation and weights drawn from a normal
# distribution with mean 0 and standard deviation 1.
#
# In this notebook we **measure** each part of that story instead of taking it on faith:
#
# 1. the logistic function saturates, and its derivative is never larger than 1/4;
# 2. in a 30-layer stack, per layer: the variance of the pre-activations, the fraction of saturated
#    units and the gradient that reaches each layer, for four classic initialization/activation pairs;
# 3. an exploding case, where a too-large initialization doubles the signal at every layer;
# 4. what it does to training: learning curves of a deep sigmoid network and how far each layer's
#    weights move.
#
# The remedies (Glorot/He initialization, better activations, batch normalization, gradient
# clipping) each get their own chapter next.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn.activations import sigmoid, sigmoid_derivative
from tdnn.data import load_fashion_mnist, subset
from tdnn.diagnostics import (
    activation_stats_by_layer,
    backprop_signal_by_layer,
    gradient_norms_by_layer,
    kernel_snapshot,
    relative_weight_change,
)
from tdnn.models import build_mlp
from tdnn.plotting import plot_function, plot_learning_curves, plot_per_layer
from tdnn.training import fit, results_table

# %% [markdown]
# ## 1. The logistic function saturates
#
# $$\sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr) \le \frac14 .$$
#
# For large $|z|$ the function flattens at 0 or 1 and its derivative is close to 0: a saturated unit
# passes almost no gradient back. Even at its best, $z = 0$, it multiplies the gradient by $1/4$.
#
# (`tdnn.activations` holds both, tested against Keras in chapter 3.)

# %%
z = np.linspace(-5, 5, 1001)
d = sigmoid_derivative(z)
print(f"max σ'(z) = {d.max():.4f} at z = {z[d.argmax()]:.1f}")
for z0 in (2.0, 5.0, 10.0):
    d0 = sigmoid_derivative(z0)
    print(f"σ'({z0:4.1f}) = {d0:.2e}  ({d0 / 0.25:.2%} of the maximum)")

ax = plot_function(
    {"σ(z)": sigmoid, "σ'(z)": sigmoid_derivative},
    z=np.linspace(-8, 8, 401),
    title="The logistic function and its derivative",
    xlabel="z",
    ylabel="value",
)
ax.axhspan(0, 0.05, xmin=0, xmax=1, color="grey", alpha=0.12)
ax.annotate("saturation: σ'(z) ≈ 0", xy=(5.2, 0.02), fontsize=9)
plt.show()

# %% [markdown]
# During backpropagation through $L$ sigmoid layers the gradient picks up one factor
# $\sigma'(z^{(l)})$ per layer (times the weights). With the factor at its maximum $1/4$ and weights of
# order 1, thirty layers would shrink it by $4^{-30}$:

# %%
print(f"(1/4)**30 = {0.25**30:.1e}")

# %% [markdown]
# ## 2. Per-layer statistics in a 30-layer network (Glorot & Bengio's observation)
#
# We build the same stack of 30 dense layers of 100 units on top of Fashion-MNIST's 784 pixels, with
# four classic initialization/activation pairs, and feed it 1,000 validation images (pixels in
# [0, 1]). No training yet: these are the networks *at initialization*, where the first gradient
# steps happen. For every hidden layer $l$ we measure
#
# * the variance of its pre-activations $z^{(l)} = a^{(l-1)} W^{(l)} + b^{(l)}$ (the input of the
#   activation function),
# * for sigmoid layers, the fraction of saturated outputs ($\sigma < 0.05$ or $\sigma > 0.95$, where
#   $\sigma' < 0.048$),
# * the error signal $\delta^{(l)} = \partial \mathcal{L} / \partial z^{(l)}$ that backpropagation
#   carries down to layer $l$ (its root mean square), and the gradient the optimizer actually sees,
#   $\partial \mathcal{L} / \partial W^{(l)} = a^{(l-1)\top} \delta^{(l)}$, both from one
#   `tf.GradientTape` pass over the batch. Going down one layer,
#   $\delta^{(l)} = \bigl(\delta^{(l+1)} W^{(l+1)\top}\bigr) \odot \sigma'(z^{(l)})$: one more factor
#   per layer.
#
# > **Keras 3 trap.** An initializer *instance* such as `keras.initializers.RandomNormal(0.0, 1.0)`
# > returns the same values at every call, seeded or not, so passing one instance to 30 `Dense` layers
# > gives them 30 identical kernels (initializer *names* such as `"he_normal"` are safe). `build_mlp`
# > clones an instance per layer; in your own code, create one instance per layer.

# %%
data = load_fashion_mnist()
x_batch, y_batch = data.valid.x[:1000], data.valid.y[:1000]

CONFIGS = {
    "N(0, 1) + sigmoid": dict(
        activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0)
    ),
    "Glorot + sigmoid": dict(activation="sigmoid", kernel_initializer="glorot_normal"),
    "Glorot + tanh": dict(activation="tanh", kernel_initializer="glorot_normal"),
    "He + ReLU": dict(activation="relu", kernel_initializer="he_normal"),
}
DEPTH = 30

pre_stats, out_stats, deltas, grads = {}, {}, {}, {}
for label, config in CONFIGS.items():
    model = build_mlp([100] * DEPTH, seed=42, **config)
    pre = activation_stats_by_layer(model, x_batch, pre_activation=True)
    pre_stats[label] = pre.loc[:DEPTH]  # hidden layers only
    out_stats[label] = activation_stats_by_layer(model, x_batch).loc[:DEPTH]
    deltas[label] = backprop_signal_by_layer(model, x_batch, y_batch).loc[:DEPTH].to_frame()
    grads[label] = gradient_norms_by_layer(model, x_batch, y_batch).loc[:DEPTH]


def at_layers(frames, column, layers=(1, 5, 10, 20, 30)):
    """One row per configuration, one column per selected layer."""
    table = pd.DataFrame(
        {label: f[column].loc[list(layers)] for label, f in frames.items()}
    ).T
    return table.rename(columns=lambda layer: f"layer {layer}")


print("Variance of the pre-activations z")
print(at_layers(pre_stats, "variance").map(lambda v: f"{v:.3g}").to_string())
print("\nFraction of saturated outputs (sigmoid layers)")
sigmoid_stats = {k: v for k, v in out_stats.items() if "sigmoid" in k}
print(at_layers(sigmoid_stats, "saturated").round(2).to_string())
print("\nRMS of the error signal δ = ∂L/∂z")
print(at_layers(deltas, "delta_rms").map(lambda v: f"{v:.1e}").to_string())
print("\nRMS of the weight gradient ∂L/∂W")
print(at_layers(grads, "grad_rms").map(lambda v: f"{v:.1e}").to_string())

# %%
ax = plot_per_layer(
    pre_stats,
    "variance",
    title="Variance of the pre-activations, layer by layer",
    ylabel="Var[z] (log scale)",
)
plt.show()

# %%
ax = plot_per_layer(
    deltas,
    "delta_rms",
    title="Error signal reaching each layer at initialization",
    ylabel="RMS of δ = ∂L/∂z (log scale)",
)
plt.show()

# %% [markdown]
# What the measurements show:
#
# * **N(0, 1) + sigmoid**: with 100 inputs per unit and weights of variance 1, the pre-activations
#   have a variance of about 40-50 (and 157 in layer 1, which has 784 inputs), so two thirds of the
#   sigmoid units sit in their flat tails. The error signal shrinks by a factor of about 7 on its way
#   from layer 30 to layer 1, and the weight gradient of layer 1 is about 100 times smaller than that
#   of layer 30: Glorot & Bengio's diagnosis.
# * **Glorot + sigmoid** keeps the pre-activations small (no saturation at all), but that puts every
#   unit where $\sigma'(z) \approx 1/4$, and the Glorot weights (variance $1/100$) do not make up for
#   it: the error signal shrinks by a roughly constant factor per layer, to about $10^{-23}$ at layer 1.
#   Glorot initialization was derived for activations that behave like the identity near 0 (tanh);
#   for the logistic function Glorot & Bengio's analysis calls for weights 4 times larger (exercise 1).
# * **Glorot + tanh**: the error signal and the gradients stay within a factor of about 4 across the
#   30 layers, while the forward signal slowly fades (Var[z] drops about 30-fold over 30 layers).
# * **He + ReLU**: the forward variance and the error signal stay within a small factor of constant
#   across depth: the property He et al. (2015) designed their initialization for.
#
# ## 3. Exploding gradients: a too-large initialization
#
# He initialization uses $\mathrm{Var}(w) = 2/\text{fan}_\text{in}$ for ReLU so that, on average, a
# layer preserves the second moment of its input. Doubling that variance
# (`VarianceScaling(scale=4.0)`) doubles the second moment of the signal at *every* layer: over 30
# layers a factor of $2^{30} \approx 10^9$. Backward, the same factor applies to the gradient on its
# way down, so the lowest layers receive the largest gradients.

# %%
too_large_init = keras.initializers.VarianceScaling(
    scale=4.0, mode="fan_in", distribution="untruncated_normal"
)
too_large = build_mlp(
    [100] * DEPTH, activation="relu", kernel_initializer=too_large_init, seed=42
)
exploding_z = activation_stats_by_layer(too_large, x_batch, pre_activation=True).loc[:DEPTH]
exploding_delta = (
    backprop_signal_by_layer(too_large, x_batch, y_batch).loc[:DEPTH].to_frame()
)
exploding_g = gradient_norms_by_layer(too_large, x_batch, y_batch).loc[:DEPTH]

var_z, delta = exploding_z["variance"], exploding_delta["delta_rms"]
forward = (var_z.loc[DEPTH] / var_z.loc[5]) ** (1 / (DEPTH - 5))  # geometric mean growth
backward = (delta.loc[1] / delta.loc[DEPTH]) ** (1 / (DEPTH - 1))
print(
    f"Var[z]: layer 1 = {var_z.loc[1]:.3g}, layer 30 = {var_z.loc[DEPTH]:.3g}"
    f"  (average growth ×{forward:.2f} per layer)"
)
print(
    f"RMS of δ: layer 30 = {delta.loc[DEPTH]:.2e}, layer 1 = {delta.loc[1]:.2e}"
    f"  (average growth ×{backward:.2f} per layer, downwards)"
)
ratio = exploding_g["grad_rms"] / grads["He + ReLU"]["grad_rms"]
print(
    f"RMS of ∂L/∂W: {ratio.min():.0f} to {ratio.max():.0f} times larger than with He init"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
plot_per_layer(
    {"scale = 4 (too large)": exploding_z, "He (scale = 2)": pre_stats["He + ReLU"]},
    "variance",
    ax=axes[0],
    title="Forward: variance of z explodes",
    ylabel="Var[z] (log scale)",
)
plot_per_layer(
    {"scale = 4 (too large)": exploding_delta, "He (scale = 2)": deltas["He + ReLU"]},
    "delta_rms",
    ax=axes[1],
    title="Backward: error signal grows downwards",
    ylabel="RMS of δ (log scale)",
)
fig.tight_layout()
plt.show()

# %% [markdown]
# The forward signal doubles its variance at every layer, as the variance argument predicts, and the
# error signal grows by a factor of about $\sqrt{2}$ per layer on its way *down* (it is an amplitude,
# so $\sqrt 2$ is the same doubling of variance). The weight gradients, the product of both, are
# about $10^5$ times larger than with He initialization in every layer. One SGD step of any
# reasonable learning rate would throw such a network far off: that is the exploding-gradients
# problem (recurrent networks meet it most often; chapter 5 clips gradients to contain it).
#
# ## 4. What it does to training
#
# Now we train 10-hidden-layer networks (100 units each) on a Fashion-MNIST subset with plain SGD
# (learning rate 0.01, batch 64), identical except for the initialization/activation pair, and record
# how far training moved each layer's weights: $\lVert W_\text{after} - W_\text{before} \rVert /
# \lVert W_\text{before} \rVert$.

# %%
small = subset(
    data,
    n_train=profile.pick(book=8_000, full=55_000),
    n_valid=profile.pick(book=2_000, full=5_000),
)
EPOCHS = profile.pick(book=10, full=30)

histories, moved = {}, {}
for label in ("N(0, 1) + sigmoid", "Glorot + sigmoid", "He + ReLU"):
    model = build_mlp([100] * 10, seed=42, **CONFIGS[label])
    before = kernel_snapshot(model)
    histories[label] = fit(
        model,
        small.train,
        valid=small.valid,
        epochs=EPOCHS,
        batch_size=64,
        optimizer="sgd",
        learning_rate=0.01,
        seed=42,
    )
    moved[label] = relative_weight_change(before, model)

results_table(histories)

# %%
plot_learning_curves(
    histories,
    metrics=("loss", "val_accuracy"),
    title=f"10 hidden layers, SGD, {len(small.train.y):,} training images",
)
plt.show()

# %%
ax = plot_per_layer(
    moved,
    title="How far training moved each layer's weights",
    ylabel="‖ΔW‖ / ‖W‖ (log scale)",
    xlabel="layer (11 = output layer)",
)
plt.show()
print(pd.DataFrame(moved).T.map(lambda v: f"{v:.1e}").to_string())

# %% [markdown]
# * **Glorot + sigmoid** does not learn at all in this budget: the loss stays at
#   $\ln 10 \approx 2.30$ (chance level for 10 classes) and the lower layers' weights are essentially
#   unchanged (relative change below $10^{-5}$ in layers 1-5) — only the layers near the output receive a usable
#   gradient.
# * **N(0, 1) + sigmoid** learns, slowly: its saturated units still pass a little gradient because the
#   weights are large, but it is far behind.
# * **He + ReLU** trains fastest and moves every layer by a similar amount.
#
# With more epochs or a larger learning rate the sigmoid networks eventually creep forward, and
# a 2-3 layer sigmoid network trains fine: depth is what makes the product of per-layer factors
# vanish. (`TDNN_PROFILE=full` repeats section 4 on the full training set for 30 epochs.)
#
# ## Key takeaways
#
# * The gradient reaching a layer is a product of one factor per layer above it; with the logistic
#   function each factor is at most 1/4, and saturated units make it nearly 0.
# * Initialization decides where the network starts: the variance of the weights must match the
#   activation function and the fan-in, or the signal fades or explodes geometrically with depth.
# * Measure it: per-layer variance and gradient norms at initialization (`tdnn.diagnostics`) reveal
#   a badly configured deep network before you spend time training it.
#
# ## Exercises
#
# 1. Scale the Glorot + sigmoid initialization by 4 (`VarianceScaling(scale=16.0, mode="fan_avg")`,
#    since variance scales with the square) and re-measure the gradient per layer. Does it fix the
#    vanishing gradient?
# 2. Find the scale of `VarianceScaling(mode="fan_in")` at which a 30-layer ReLU network keeps
#    Var[z] constant. Compare with He's 2.0.
# 3. Repeat section 4 with 3 hidden layers instead of 10. Which conclusions survive?
