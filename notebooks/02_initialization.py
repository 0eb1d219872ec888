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
# # 2. Glorot and He initialization
#
# > **In short.** Table 11-1 (Glorot, He and LeCun initialization) is a few lines of code, and it
# > matches what Keras samples. Through a 50-layer stack, the initializer that suits the activation
# > keeps the gradients within a factor 10 across depth (He for ReLU, LeCun for SELU), while Glorot
# > initialization with ReLU halves the signal's variance at every layer. In training, a 20-layer
# > ReLU network with Keras' default initializer stays near chance in this short budget, while He
# > initialization trains it from the start; for SELU, the default and LeCun initialization do about
# > equally well.
#
# Glorot & Bengio (2010) traced much of the trouble with training deep networks to the way the weights
# were initialized: with the wrong variance, the signal shrinks or grows from layer to layer on the way
# forward, and the gradients do the same on the way back. Their fix, and its variants by He et al.
# (2015) and LeCun et al. (1998), fit in one table (Table 11-1). In this notebook you will see:
#
# - what fan-in and fan-out are, and why Eq. 11-1 averages them;
# - Table 11-1 as code (`tdnn.initializers`), checked against what Keras actually samples,
#   including the correction Keras applies to its *truncated* normal distributions;
# - how to choose an initializer in Keras 3 (a name, or an instance such as `VarianceScaling`);
# - the variance of the activations and of the gradients through a 50-layer stack, for six
#   initialization/activation pairs;
# - a 20-layer network trained on Fashion-MNIST with Keras' default initialization vs He/LeCun.
#
# **Exact and measured outputs.** Formulas, seeded draws of the initializers and NumPy float64
# computations print the same digits on every machine. Forward and backward passes and training
# run in float32 TensorFlow, whose last digits change from one CPU to another: those cells are
# *measured*, and the lessons drawn from them are checked by `claim(...)` in the cell after them
# (it prints `✓` and the claim with its margin). The margins come from repeating the experiments
# over several seeds (42 and 0–4 for the 50-layer stack, 42 and 0–3 for training) and under two
# instruction sets (`ONEDNN_MAX_CPU_ISA=SSE41` and AVX2).

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import inspect
import math
import re

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn import initializers as ti
from tdnn.claims import claim
from tdnn.data import Split, load_fashion_mnist, subset
from tdnn.diagnostics import activation_stats_by_layer, gradient_norms_by_layer
from tdnn.models import build_mlp
from tdnn.plotting import plot_learning_curves, plot_per_layer
from tdnn.training import fit, results_table

# %% [markdown]
# ## Fan-in, fan-out and Eq. 11-1
#
# A `Dense` layer with kernel $\mathbf W$ of shape (fan_in, fan_out) has one row per input and one
# column per unit: each unit sums $\text{fan}_\text{in}$ weighted inputs, and each input feeds
# $\text{fan}_\text{out}$ units.

# %%
layer = keras.layers.Dense(300)
layer.build((None, 784))  # the first hidden layer of the book's Fashion-MNIST MLP
fan_in, fan_out = ti.fan_in_fan_out(layer.kernel.shape)
print(
    f"kernel shape {tuple(layer.kernel.shape)}: fan_in = {fan_in}, fan_out = {fan_out}, "
    f"fan_avg = {ti.fan_avg(fan_in, fan_out):g}"
)

# %% [markdown]
# With independent, zero-mean weights of variance $\sigma^2$, a unit's input
# $z = \sum_{i=1}^{\text{fan}_\text{in}} w_i x_i$ has variance
# $\operatorname{Var}(z) = \text{fan}_\text{in}\,\sigma^2\,\mathbb E[x^2]$: the layer multiplies the
# signal's second moment by the **forward gain** $\text{fan}_\text{in}\,\sigma^2$. Backpropagation
# multiplies the gradients by $\mathbf W$ transposed, so they get the **backward gain**
# $\text{fan}_\text{out}\,\sigma^2$. Both gains equal 1 only if $\text{fan}_\text{in} = \text{fan}_\text{out}$;
# Glorot and Bengio's compromise is **Eq. 11-1** (Glorot, or Xavier, initialization):
#
# $$\begin{aligned}
# \sigma^2 &= \frac{1}{\text{fan}_\text{avg}}, \qquad
# \text{fan}_\text{avg} = \frac{\text{fan}_\text{in} + \text{fan}_\text{out}}{2},\\
# &\text{or uniform on } [-r, r] \text{ with } r = \sqrt{\frac{3}{\text{fan}_\text{avg}}}
# \end{aligned}$$
#
# (the uniform distribution on $[-r, r]$ has variance $r^2/3$). Let's measure both gains on the
# 784→300 layer with 1,000 standardized Fashion-MNIST images, for σ² from Glorot, He and LeCun.

# %%
data = load_fashion_mnist()
pixel_mean, pixel_std = float(data.train.x.mean()), float(data.train.x.std())


def standardize(split: Split) -> Split:
    """Pixels rescaled to mean 0 and variance 1 over the training set."""
    return Split((split.x - pixel_mean) / pixel_std, split.y)


x_batch = standardize(data.train).x[:1000].reshape(1000, -1).astype(np.float64)
upstream = np.random.default_rng(0).standard_normal((1000, fan_out))  # stand-in for ∂L/∂z

rows = {}
for name, keras_name in [
    ("glorot", "glorot_normal"),
    ("he", "he_normal"),
    ("lecun", "lecun_normal"),
]:
    w = np.asarray(
        keras.initializers.get({"class_name": keras_name, "config": {"seed": 1}})(
            (fan_in, fan_out)
        ),
        dtype=np.float64,
    )
    variance = ti.init_variance(name, fan_in, fan_out)
    rows[keras_name] = {
        "1000·σ²": 1000 * variance,
        "fan_in·σ²": fan_in * variance,
        "Var(z) / E[x²]": (x_batch @ w).var() / np.mean(x_batch**2),
        "fan_out·σ²": fan_out * variance,
        "Var(∂L/∂x) / Var(∂L/∂z)": (upstream @ w.T).var() / upstream.var(),
    }
pd.DataFrame(rows).T.round(4)

# %% [markdown]
# The measured forward gains (`Var(z) / E[x²]`) are within 3 % of $\text{fan}_\text{in}\sigma^2$ and
# the backward gains within 0.3 % of $\text{fan}_\text{out}\sigma^2$ (for one random kernel and one
# batch). On this non-square layer no single σ² gives 1 both ways: LeCun keeps the forward signal
# (1.0) but shrinks the gradients (0.38), Glorot sits between the two (1.45 forward, 0.55 back), and
# He doubles the forward gain on purpose: a ReLU zeroes about half of its inputs, which halves
# $\mathbb E[a^2]$ for the next layer.
#
# ## Table 11-1 as code
#
# The three initializations differ only by the scale and the fan they divide by:
# $\sigma^2 = \text{scale}/n$ with scale 1 and $n = \text{fan}_\text{avg}$ (Glorot), scale 2 and
# $n = \text{fan}_\text{in}$ (He), scale 1 and $n = \text{fan}_\text{in}$ (LeCun). That is exactly
# Keras' `VarianceScaling(scale, mode, distribution)`.

# %%
ti.table_11_1()

# %% [markdown]
# The numbers for the 784→300 layer: σ (normal distribution), the uniform limit $r = \sqrt{3\sigma^2}$,
# and the `stddev` Keras passes to its truncated normal sampler (explained in the next section).

# %%
ti.table_11_1(fan_in, fan_out).iloc[:, 2:].round(5)

# %% [markdown]
# ## What Keras actually samples
#
# Keras has one built-in initializer per row and distribution: `glorot_uniform` (the default for
# `Dense`), `glorot_normal`, `he_uniform`, `he_normal`, `lecun_uniform`, `lecun_normal`. We draw a
# seeded 784×300 kernel (235,200 weights) from each and compare the empirical standard deviation and
# the largest weight with the formulas.

# %%
rows = {}
for keras_name, (name, distribution) in ti.KERAS_INITIALIZERS.items():
    initializer = keras.initializers.get({"class_name": keras_name, "config": {"seed": 42}})
    w = np.asarray(initializer((fan_in, fan_out)))
    sigma = math.sqrt(ti.init_variance(name, fan_in, fan_out))
    if distribution == "uniform":
        bound = ti.init_limit(name, fan_in, fan_out)
    else:
        bound = 2 * ti.init_std(name, fan_in, fan_out, distribution)
    rows[keras_name] = {
        "distribution": distribution,
        "σ (Table 11-1)": sigma,
        "empirical std": w.std(),
        "bound": bound,
        "bound / σ": bound / sigma,
        "max |w|": np.abs(w).max(),
    }
pd.DataFrame(rows).T.round(5)

# %% [markdown]
# Every initializer gets the standard deviation of Table 11-1 to within 0.1 %. The uniform ones never
# exceed $r = \sqrt 3\,\sigma \approx 1.73\sigma$. The "normal" ones never exceed $2.27\sigma$: they are
# **truncated** normals.
#
# ### The truncation correction
#
# Keras' `*_normal` initializers (and `VarianceScaling`'s default `distribution="truncated_normal"`;
# Keras even maps `"normal"` to it) re-draw every value beyond 2 standard deviations of the sampler.
# Cutting the tails shrinks the standard deviation: for $Z \sim \mathcal N(0, 1)$ restricted to
# $[-b, b]$, with $\varphi$ the standard normal density and $\Phi$ its CDF,
#
# $$\begin{aligned}
# \operatorname{Var}(Z \mid |Z| \le b) &= 1 - \frac{2b\,\varphi(b)}{\Phi(b) - \Phi(-b)},\\
# \Phi(b) - \Phi(-b) &= \operatorname{erf}(b/\sqrt 2).
# \end{aligned}$$
#
# For $b = 2$ the standard deviation is about 0.8796, so Keras divides the σ it wants by that factor
# before sampling (`stddev = math.sqrt(scale) / 0.87962566103423978` in `VarianceScaling.__call__`),
# and the truncation brings the weights back to σ. `ti.truncated_normal_std_factor` computes the
# factor from the formula above; here it is next to the constant read from the installed Keras source.

# %%
source = inspect.getsource(keras.initializers.VarianceScaling.__call__)
keras_constant = float(
    re.search(r"stddev = math\.sqrt\(scale\) / (\d*\.\d+)", source).group(1)
)
factor = ti.truncated_normal_std_factor(2.0)
print(f"std of N(0,1) truncated to [-2, 2]: {factor:.17f}")
print(f"Keras' constant:                    {keras_constant:.17f}")
print(f"difference: {abs(factor - keras_constant):.1e}")

# %% [markdown]
# Without the correction the weights would be 12 % too narrow. Below: `TruncatedNormal(stddev=σ)`
# (no correction), Keras' `he_normal` (corrected), and `VarianceScaling(..., "untruncated_normal")`
# (a plain normal, with tails: about 4.6 % of its weights lie beyond 2σ).

# %%
sigma_he = ti.init_std("he", fan_in, fan_out)
samplers = {
    "TruncatedNormal(stddev=σ)": keras.initializers.TruncatedNormal(
        stddev=sigma_he, seed=42
    ),
    "he_normal (truncated, corrected)": keras.initializers.HeNormal(seed=42),
    "untruncated_normal": keras.initializers.VarianceScaling(
        2.0, "fan_in", "untruncated_normal", seed=42
    ),
    "he_uniform": keras.initializers.HeUniform(seed=42),
}
weights = {
    label: np.asarray(init((fan_in, fan_out))) / sigma_he
    for label, init in samplers.items()
}
pd.DataFrame(
    {
        label: {
            "std / σ": w.std(),
            "max |w| / σ": np.abs(w).max(),
            "share beyond 2σ": np.mean(np.abs(w) > 2),
        }
        for label, w in weights.items()
    }
).T.round(4)

# %%
fig, ax = plt.subplots()
bins = np.linspace(-4.5, 4.5, 91)
for label, w in list(weights.items())[1:]:
    ax.hist(w.ravel(), bins=bins, density=True, histtype="step", linewidth=1.6, label=label)
ax.set_title("He initialization of a 784×300 kernel: three distributions, same variance")
ax.set_xlabel("weight / σ   (σ = √(2 / fan_in))")
ax.set_ylabel("density")
ax.set_ylim(0, 0.55)
ax.legend(loc="upper center", ncol=3, fontsize=8)
plt.show()

# %% [markdown]
# ## Choosing the initializer in Keras 3
#
# By default a `Dense` layer uses `glorot_uniform`. Pass a name for another built-in initializer, as
# in the book:

# %%
dense = keras.layers.Dense(50, activation="relu", kernel_initializer="he_normal")
print(type(dense.kernel_initializer).__name__)

# %% [markdown]
# or an instance. The book's example is He initialization based on fan_avg rather than fan_in,
# uniform: $\sigma^2 = 2/\text{fan}_\text{avg}$, so $r = \sqrt{6/\text{fan}_\text{avg}}$. (The
# instance also takes a `seed`; without one, `keras.utils.set_random_seed` makes it reproducible.)

# %%
he_avg_init = keras.initializers.VarianceScaling(
    scale=2.0, mode="fan_avg", distribution="uniform"
)
dense = keras.layers.Dense(50, activation="sigmoid", kernel_initializer=he_avg_init)
dense.build((None, 784))
w = np.asarray(dense.kernel)
r = ti.uniform_limit(ti.scaled_variance(2.0, "fan_avg", *ti.fan_in_fan_out(w.shape)))
print(f"fan_avg = {ti.fan_avg(*w.shape):g}, limit r = √(6/fan_avg) = {r:.5f}")
print(
    f"max |w| = {np.abs(w).max():.5f}, std = {w.std():.5f} (r/√3 = {r / math.sqrt(3):.5f})"
)

# %% [markdown]
# **A Keras 3 trap: don't share an initializer instance between layers.** An instance created
# without a seed draws one random integer seed when it is created, and every call then returns the
# *same* values for the same shape. Reuse `he_avg_init` in three 100→100 layers and the three kernels
# are identical (Keras 3 does not warn). Give each layer its own instance, or give the instance a
# `keras.random.SeedGenerator`, which advances at each call:


# %%
def identical_kernels(initializer) -> bool:
    stack = keras.Sequential(
        [keras.Input((100,))]
        + [keras.layers.Dense(100, kernel_initializer=initializer) for _ in range(3)]
    )
    kernels = [np.asarray(layer.kernel) for layer in stack.layers]
    return all(np.array_equal(kernels[0], k) for k in kernels[1:])


generator = keras.initializers.VarianceScaling(
    scale=2.0, mode="fan_avg", distribution="uniform", seed=keras.random.SeedGenerator(42)
)
checks = {
    "he_avg_init (one unseeded instance) in 3 layers": identical_kernels(he_avg_init),
    "seed=keras.random.SeedGenerator(42)": identical_kernels(generator),
    'the name "he_uniform" (a new instance per layer)': identical_kernels("he_uniform"),
}
print("\n".join(f"{how:50} -> identical kernels: {same}" for how, same in checks.items()))

# %% [markdown]
# ## The signal through 50 layers
#
# Now the variance argument in a deep stack. 50 `Dense` layers of 100 units (then a softmax
# output) receive 1,000 standardized Fashion-MNIST images. We measure the variance of each hidden
# layer's output and the RMS of the loss gradient with respect to each layer's kernel, at
# initialization, for six pairs:
#
# - $\mathcal N(0, 1)$ weights with the logistic sigmoid: the old default the book blames (Glorot &
#   Bengio's own baseline was different: $U[-1/\sqrt n, 1/\sqrt n]$, variance $1/(3n)$);
# - Glorot with the sigmoid, with tanh and with ReLU;
# - He with ReLU and LeCun with SELU, as Table 11-1 prescribes.
#
# (For 100→100 layers, fan_in = fan_out = fan_avg, so Glorot and LeCun give the same σ² = 0.01:
# only the first layer, 784→100, and the softmax output layer, 100→10, differ.)
#
# `tdnn.diagnostics` gives the activation statistics and the gradient RMS per layer (it squares the
# gradients in float64: some of them will be below $10^{-23}$, whose float32 squares underflow to 0).


# %%
configs = {
    # one instance for all 51 layers: it needs a SeedGenerator (see the trap above)
    "N(0,1) + sigmoid": (
        keras.initializers.RandomNormal(stddev=1.0, seed=keras.random.SeedGenerator(42)),
        "sigmoid",
    ),
    "Glorot + sigmoid": ("glorot_normal", "sigmoid"),
    "Glorot + tanh": ("glorot_normal", "tanh"),
    "Glorot + ReLU": ("glorot_normal", "relu"),
    "He + ReLU": ("he_normal", "relu"),
    "LeCun + SELU": ("lecun_normal", "selu"),
}
depth = 50
n_probe = profile.pick(book=1000, full=5000)
probe = standardize(data.train)
x_probe, y_probe = probe.x[:n_probe], probe.y[:n_probe]

activations, gradients = {}, {}
for label, (initializer, activation) in configs.items():
    deep = build_mlp(
        [100] * depth, activation=activation, kernel_initializer=initializer, seed=42
    )
    # hidden layers only (the last row is the softmax output layer)
    activations[label] = activation_stats_by_layer(deep, x_probe).loc[:depth]
    grad_rms = gradient_norms_by_layer(deep, x_probe, y_probe)["grad_rms"]
    gradients[label] = grad_rms.loc[:depth]

ax = plot_per_layer(
    activations,
    "variance",
    title=f"Variance of each hidden layer's outputs ({depth} layers)",
    ylabel="variance of the layer's outputs (log scale)",
)
ax.legend(ncol=2, fontsize=8)
plt.show()

# %%
var = {label: a["variance"] for label, a in activations.items()}
claim(
    "LeCun + SELU: the variance stays between 0.5 and 2 in all 50 layers",
    bool(var["LeCun + SELU"].between(0.5, 2).all()),
    measured=[var["LeCun + SELU"].min(), var["LeCun + SELU"].max()],
)
he_drift = var["He + ReLU"].max() / var["He + ReLU"].min()
claim(
    "He + ReLU: the variance stays within a factor 300 across the 50 layers",
    he_drift < 300,
    measured=he_drift,
)
relu_factor = (var["Glorot + ReLU"].loc[depth] / var["Glorot + ReLU"].loc[1]) ** (1 / 49)
claim(
    "Glorot + ReLU: the variance is multiplied by 0.4 to 0.6 per layer (predicted: 1/2)",
    0.4 <= relu_factor <= 0.6,
    measured=relu_factor,
)
tanh_drop = var["Glorot + tanh"].loc[1] / var["Glorot + tanh"].loc[depth]
claim(
    "Glorot + tanh: the variance falls at least 10-fold from layer 1 to layer 50",
    tanh_drop >= 10,
    measured=tanh_drop,
)

# %% [markdown]
# - **LeCun + SELU** keeps the variance close to 1 in every layer (between 0.78 and 1.17 over our
#   seeds): SELU's self-normalization pulls it back towards 1.
# - **He + ReLU** keeps it only *in expectation*. A layer of 100 units only approximates the
#   expectation, and nothing pulls the variance back: it drifts at random from layer to layer, and
#   over 50 layers its largest and smallest values differed by a factor of up to about 90 in our
#   seeds (the plot shows the run's own drift). That is still nothing like Glorot + ReLU.
# - **Glorot + ReLU** loses half the variance at each layer, as predicted: ReLU zeroes half of its
#   inputs and Glorot's σ² = 1/100 does not compensate. After 50 layers the signal is about
#   $2^{-50} \approx 10^{-15}$ of what it was.
# - **Glorot + tanh** decays slowly (by a factor of 40 to 100 from layer 1 to layer 50 over our
#   seeds): $|\tanh z| < |z|$ for every $z \ne 0$ (a lot for large inputs, a little for small
#   ones), so at a gain of 1 each layer loses a little variance.
# - The two sigmoid curves look harmless, but the sigmoid's outputs can never have a variance above
#   0.25; what matters is where they sit. The table shows the share of saturated outputs (within 0.05
#   of 0 or 1) at a few depths:

# %% tags=["nbval-ignore-output"]
saturation = pd.DataFrame(
    {
        label: activations[label]["saturated"]
        for label in ["N(0,1) + sigmoid", "Glorot + sigmoid"]
    }
)
saturation.loc[[1, 2, 5, 10, 25, 50]].round(2)

# %%
n01_sat, glorot_sat = saturation["N(0,1) + sigmoid"], saturation["Glorot + sigmoid"]
claim(
    "N(0,1) + sigmoid: over 80 % saturated in layer 1, more than in any layer above",
    n01_sat.loc[1] > 0.8 and n01_sat.loc[1] > n01_sat.loc[2:].max(),
    measured=[n01_sat.loc[1], n01_sat.loc[2:].max()],
)
claim(
    "N(0,1) + sigmoid: 40 % to 85 % saturated in each of layers 2-50",
    bool(n01_sat.loc[2:].between(0.4, 0.85).all()),
    measured=[n01_sat.loc[2:].min(), n01_sat.loc[2:].max()],
)
claim(
    "Glorot + sigmoid: under 10 % saturated in layer 1 and under 1 % above it",
    glorot_sat.loc[1] < 0.1 and glorot_sat.loc[2:].max() < 0.01,
    measured=[glorot_sat.loc[1], glorot_sat.loc[2:].max()],
)

# %% [markdown]
# With $\mathcal N(0, 1)$ weights a unit sums 100 inputs of mean about 0.5, so $\operatorname{Var}(z)$
# is in the tens and half to three quarters of the sigmoids are saturated in every layer; with
# Glorot almost none are. Note that the saturation does not build up towards the top layers as the book describes
# it: with 784 standardized inputs the very first layer already has an expected
# $\operatorname{Var}(z) = 784\,\mathbb E[x^2] \approx 784$ and is the most saturated of all (over
# 90 % in every run we made, against at most 78 % higher up).
#
# Now the gradients, at initialization (layer 1 is the bottom of the network):

# %%
ax = plot_per_layer(
    gradients,
    title=f"Gradient RMS per layer at initialization ({depth} layers)",
    ylabel="RMS of ∂L/∂W (log scale)",
)
ax.legend(ncol=2, fontsize=8)
plt.show()

# %% tags=["nbval-ignore-output"]
print("RMS of ∂L/∂W at a few layers (rows: initialization + activation)")
grad_table = pd.DataFrame(gradients).loc[[1, 10, 25, 40, 50]].T
print(
    grad_table.rename(columns=lambda layer: f"layer {layer}")
    .map(lambda v: f"{v:.1e}")
    .to_string()
)


# %%
def top_over_bottom(label):
    """Gradient RMS of the top hidden layer over that of layer 1."""
    return float(gradients[label].loc[depth] / gradients[label].loc[1])


sigmoid_factor = top_over_bottom("Glorot + sigmoid") ** (-1 / 49)
claim(
    "Glorot + sigmoid: the gradient shrinks by a factor 0.2 to 0.3 per layer going down",
    0.2 <= sigmoid_factor <= 0.3,
    measured=sigmoid_factor,
)
claim(
    "N(0,1) + sigmoid: from layer 50 to layer 1 the gradient shrinks less than 1000×",
    top_over_bottom("N(0,1) + sigmoid") < 1000,
    measured=top_over_bottom("N(0,1) + sigmoid"),
)
vs_he = gradients["Glorot + ReLU"] / gradients["He + ReLU"]
claim(
    "Glorot + ReLU: within 100× of 2⁻²⁵ ≈ 3·10⁻⁸ times He's gradient, in every layer",
    bool(vs_he.between(2**-25 / 100, 2**-25 * 100).all()),
    measured=[vs_he.min(), vs_he.max()],
)
for label in ("He + ReLU", "LeCun + SELU", "Glorot + tanh"):
    g = gradients[label]
    claim(
        f"{label}: the gradient stays within a factor 10 across the 50 layers",
        float(g.max() / g.min()) < 10,
        measured=float(g.max() / g.min()),
    )

# %% [markdown]
# The gradients tell a story the variance plot hides (the table is from the run shown; the checks
# hold for every seed and instruction set we tried):
#
# - **Glorot + sigmoid** has by far the worst vanishing gradients: each layer multiplies their
#   variance by about $\text{fan}_\text{out}\,\sigma^2\,\mathbb E[\sigma'(z)^2] \le 1 \times 0.25^2$
#   (the sigmoid's derivative is at most 1/4), i.e. their RMS by at most 1/4. Measured: a factor of
#   about 4 per layer (0.23 to 0.24 per layer over our seeds), so layer 1 gets some 30 orders of
#   magnitude less than layer 50. Table 11-1 lists the sigmoid under Glorot, but Glorot & Bengio's
#   derivation assumes an activation with slope 1 around 0 (like tanh); with the sigmoid, a deep
#   stack still loses its gradients.
# - **N(0, 1) + sigmoid** vanishes much less than one might expect: the large weights
#   ($\text{fan}_\text{out}\,\sigma^2 = 100$) nearly compensate the small derivatives of the saturated
#   units, and the gradients shrink by a factor of only about 25 to 160 from the top layer to the
#   bottom one (over our seeds; the check allows 1000), against some $10^{30}$ for Glorot. Its handicap is the saturation shown above.
# - **Glorot + ReLU** has tiny gradients in *every* layer. A kernel's gradient is the product of the
#   layer's input (the forward signal, whose variance halves going up) and of the gradient arriving
#   from above (whose variance halves going down), so every layer should get about
#   $2^{-50/2} \approx 3\cdot10^{-8}$ of its normal size. Measured against He, over our seeds:
#   between about $2\cdot10^{-9}$ and $7\cdot10^{-8}$ in every layer, within a factor of about 20
#   of that estimate (the check allows 100).
# - **He + ReLU**, **LeCun + SELU** and **Glorot + tanh** keep the gradients within a small factor
#   (at most about 5 over our seeds) from bottom to top.
#
# ## Training a 20-layer network
#
# Does this matter for training? We train a 20-layer, 100-unit network on a Fashion-MNIST subset with
# plain SGD (learning rate 0.01, batch 64) from the same seed, comparing Keras' default
# `glorot_uniform` with He initialization for ReLU and LeCun initialization for SELU. Inputs are
# standardized for all runs (SELU needs it).

# %% tags=["nbval-ignore-output"]
n_train, n_valid = profile.pick(book=5000, full=55000), profile.pick(book=2000, full=5000)
epochs = profile.pick(book=5, full=10)
small = subset(data, n_train, n_valid)
train, valid = standardize(small.train), standardize(small.valid)

runs = {
    "ReLU, glorot_uniform (default)": ("relu", "glorot_uniform"),
    "ReLU, he_normal": ("relu", "he_normal"),
    "SELU, glorot_uniform (default)": ("selu", "glorot_uniform"),
    "SELU, lecun_normal": ("selu", "lecun_normal"),
}
histories = {}
for label, (activation, initializer) in runs.items():
    model = build_mlp(
        [100] * 20, activation=activation, kernel_initializer=initializer, seed=42
    )
    histories[label] = fit(
        model,
        train,
        valid=valid,
        epochs=epochs,
        batch_size=64,
        optimizer="sgd",
        learning_rate=0.01,
        seed=42,
    )
results_table(histories, decimals=3)

# %%
# the margins are for the book profile's training budget (TDNN_PROFILE=full trains longer)
if not profile.full:
    final = {label: h.iloc[-1] for label, h in histories.items()}
    default_relu = final["ReLU, glorot_uniform (default)"]
    claim(
        "ReLU + glorot_uniform stays near chance: loss above 2.25, val. accuracy below 0.3",
        default_relu["loss"] > 2.25 and default_relu["val_accuracy"] < 0.3,
        measured=default_relu[["loss", "val_accuracy"]].to_dict(),
    )
    claim(
        "ReLU + he_normal learns: validation accuracy at least 0.2 above the default's",
        final["ReLU, he_normal"]["val_accuracy"] >= default_relu["val_accuracy"] + 0.2,
        measured=final["ReLU, he_normal"]["val_accuracy"],
    )
    selu_gap = (
        final["SELU, lecun_normal"]["val_accuracy"]
        - final["SELU, glorot_uniform (default)"]["val_accuracy"]
    )
    claim(
        "SELU: glorot_uniform and lecun_normal within 0.05 val. accuracy of each other",
        abs(selu_gap) <= 0.05,
        measured=selu_gap,
    )

# %%
plot_learning_curves(
    histories, title=f"20 Dense layers of 100 units, SGD, {n_train:,} training images"
)
plt.show()

# %% [markdown]
# What the runs show (a 5,000-image subset, 5 epochs, i.e. about 400 SGD steps; the figures are from
# the run shown, the checks above hold for the 5 seeds and two instruction sets we tried):
#
# - **ReLU**: with the default `glorot_uniform` the network does not learn anything within this
#   budget: the training loss stays at $\ln 10 \approx 2.30$ (a uniform guess over 10 classes) and
#   the validation accuracy at chance level (in one of our 5 seeds it was just starting to escape at
#   the last epoch, at 0.19 validation accuracy: the check allows up to 0.3). At 20 layers its
#   gradients are about $2^{-20/2} \approx 10^{-3}$
#   of their normal size (by the argument of the previous section), too small for SGD at this
#   learning rate. `he_normal` trains from the first epoch, though in this short budget its final
#   validation accuracy varies a lot from run to run (0.58 to 0.78 over our seeds and instruction
#   sets), while SELU reached 0.78 to 0.82.
# - **SELU**: `glorot_uniform` and `lecun_normal` are neck and neck (within 0.02 of each other in
#   every run we made; the check allows 0.05). This is expected: for the
#   100→100 hidden layers both give σ² = 1/100; only the first (784→100) and output (100→10) layers
#   and the distribution's shape differ.
#
# ## Key takeaways
#
# - Keep the variance of the signal (forward: $\text{fan}_\text{in}\sigma^2$) and of the gradients
#   (backward: $\text{fan}_\text{out}\sigma^2$) near 1 in every layer. Eq. 11-1 compromises with
#   $\sigma^2 = 1/\text{fan}_\text{avg}$; He ($2/\text{fan}_\text{in}$) compensates ReLU's halving;
#   LeCun ($1/\text{fan}_\text{in}$) is what SELU's self-normalization assumes.
# - The normal and uniform versions have the same variance: $r = \sqrt{3\sigma^2}$.
# - Keras' `*_normal` initializers are truncated at 2 standard deviations, with σ divided by
#   0.8796 first so that the weights still have standard deviation σ.
# - In Keras 3: `Dense(..., kernel_initializer="he_normal")`, or an instance such as
#   `VarianceScaling(scale=2., mode="fan_avg", distribution="uniform")`. An unseeded instance returns
#   the same values at every call: don't share it between layers, or seed it with a
#   `keras.random.SeedGenerator`.
# - Measured here: Glorot + ReLU loses half the variance per layer, and a 20-layer ReLU net with the
#   default initializer sat on a plateau for all ~400 SGD steps of the run shown, while He
#   initialization trained it from the start. Glorot + sigmoid keeps the activations in range, but its gradients
#   shrink about 4× per layer. For SELU, Glorot and LeCun did equally well, as expected: they have
#   the same variance on square layers.
#
# ## Exercises
#
# 1. Re-run the 20-layer ReLU comparison with `optimizer="adam"` (learning rate 0.001). Does the
#    default `glorot_uniform` still stall? Why might an optimizer that rescales each gradient by its
#    recent magnitude hide a bad initialization?
# 2. Use `ti.truncated_normal_std_factor` to find the correction Keras would need if it truncated at
#    3 standard deviations instead of 2. How much would the weights' standard deviation be off
#    without it?
# 3. In the 50-layer experiment, replace `"glorot_normal"` for the sigmoid with
#    `keras.initializers.VarianceScaling(scale=16.0, mode="fan_avg", seed=keras.random.SeedGenerator(0))`
#    (σ multiplied by 4, to compensate the sigmoid's slope of 1/4 at 0: $\sigma(z) \approx \frac12 +
#    \frac z4$). Does it fix the vanishing gradients? What happens to saturation? Compare with
#    `ti.mean_field("sigmoid", 16 / 100)` (chapter 1).
