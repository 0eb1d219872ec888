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
# # 9. Regularization
#
# > **In short.** The chapter's regularizers, each checked against its definition, then measured. ℓ2
# > shrinks the weights and ℓ1 makes them sparse; under Adam, ℓ2 is not weight decay (hence AdamW).
# > On a small training set that a big MLP overfits, dropout narrows the gap between training and
# > validation accuracy and lowers the validation loss for every seed without costing validation
# > accuracy, but training takes longer. MC dropout gives better probabilities (a lower log-loss) at
# > the same accuracy, and its uncertainty flags the likely mistakes. Max-norm and early stopping do
# > exactly what they promise.
#
# A deep network has enough parameters to memorize its training set. The chapter's last technical
# section, "Avoiding Overfitting Through Regularization", lists the tools that keep it from doing
# so: ℓ1 and ℓ2 regularization, dropout and its Monte Carlo version, max-norm, and early stopping
# (introduced in chapter 4 of the book). In this notebook you will see:
#
# - ℓ1, ℓ2 and ℓ1+ℓ2 penalties declared once with `functools.partial`, the penalty Keras adds to
#   the loss recomputed by hand from the weights, what each does to the weight distribution, and why
#   ℓ2 regularization is **not** weight decay under Adam (hence AdamW);
# - dropout's math in NumPy against `keras.layers.Dropout`; dropout closing the gap between
#   training and validation accuracy on a small training set that a big MLP overfits, and slowing
#   training down; alpha dropout keeping a SELU network's activations standardized;
# - MC dropout (`tdnn.regularization.mc_predict`, `MCDropout`): better probabilities, measured by
#   log-loss, expected calibration error and a reliability diagram; which images the model is
#   unsure about; how many samples are enough;
# - max-norm regularization checked after training, and early stopping that really restores the
#   best epoch's weights.
#
# **Exact and measured outputs.** NumPy reference math and seeded NumPy draws are identical on every
# machine and compared strictly by the tests. Everything computed by float32 TensorFlow training
# varies in its last digits between CPUs: those cells are tagged `nbval-ignore-output` and the
# lesson drawn from them is checked in code by a claim (`✓ ...`), with a margin justified by the
# spread measured over seeds and instruction sets.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
from functools import partial

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn.activations import selu
from tdnn.claims import claim
from tdnn.data import CLASS_NAMES, load_fashion_mnist, subset
from tdnn.models import dense_layers
from tdnn.regularization import (
    CleanTrainingMetrics,
    MCDropout,
    WeightHistory,
    adam_trajectory,
    alpha_dropout_params,
    apply_alpha_dropout,
    apply_dropout,
    expected_calibration_error,
    l1_l2_penalty,
    log_loss,
    mc_estimate_spread,
    mc_predict,
    reliability_curve,
    unit_norms,
)
from tdnn.training import fit, format_duration

data = load_fashion_mnist()
small = subset(
    data,
    n_train=profile.pick(book=1_000, full=55_000),
    n_valid=profile.pick(book=1_000, full=5_000),
    seed=0,
)
print(f"train {small.train.x.shape}, valid {small.valid.x.shape}")

# %% [markdown]
# ## ℓ1 and ℓ2 regularization
#
# An ℓ2 penalty adds $\lambda_2 \sum_i w_i^2$ to the loss for every regularized weight tensor, an ℓ1
# penalty $\lambda_1 \sum_i |w_i|$, and `keras.regularizers.l1_l2` both. Keras computes exactly
# these sums (class `L1L2` in `keras/src/regularizers/regularizers.py`): **no factor ½** on the
# ℓ2 term, so its gradient is $2\lambda_2 w$. The same regularizer usually goes to every hidden
# layer, with the same activation and initializer; the book avoids repeating the arguments with
# `functools.partial`:

# %%
RegularizedDense = partial(
    keras.layers.Dense,
    activation="relu",
    kernel_initializer="he_normal",
    kernel_regularizer=keras.regularizers.l2(0.01),
)


def regularized_mlp(regularizer, seed=42):
    keras.utils.set_random_seed(seed)
    Dense = partial(RegularizedDense, kernel_regularizer=regularizer)
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            Dense(100),
            Dense(100),
            Dense(10, activation="softmax"),
        ]
    )


regularizers = {
    "none": None,
    "ℓ2 (0.01)": keras.regularizers.l2(0.01),
    "ℓ1 (0.001)": keras.regularizers.l1(0.001),
    "ℓ1+ℓ2 (0.001, 0.01)": keras.regularizers.l1_l2(l1=0.001, l2=0.01),
}
factors = {"none": (0, 0), "ℓ2 (0.01)": (0, 0.01), "ℓ1 (0.001)": (0.001, 0)}
factors["ℓ1+ℓ2 (0.001, 0.01)"] = (0.001, 0.01)

for label, regularizer in regularizers.items():
    model = regularized_mlp(regularizer)
    kernels = [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]
    l1, l2 = factors[label]
    by_hand = l1_l2_penalty(kernels, l1=l1, l2=l2)  # float64, from the weights read back
    from_keras = float(sum(keras.ops.convert_to_numpy(x) for x in model.losses))
    print(
        f"{label:20s} {len(model.losses)} penalty terms; by hand {by_hand:9.4f}; "
        f"equals sum(model.losses): {np.isclose(by_hand, from_keras, rtol=1e-5)}"
    )

# %% [markdown]
# One penalty term per regularized layer (three `Dense` layers; biases are not regularized). The
# ℓ2 term of the initial weights is predictable: He initialization draws each weight with variance
# $2/n_\text{in}$, so a kernel of $n_\text{in} \times n_\text{out}$ weights has
# $\sum w^2 \approx 2 n_\text{out}$, about $2(100 + 100 + 10) = 420$ for the three kernels, and the
# penalty is about $0.01 \times 420 = 4.2$, as printed. The penalty by hand is a float64 sum over
# the weights read back from the layers; Keras' float32 sum matches it to 5 significant digits.
#
# During training `model.fit` minimizes the data loss plus these terms, and `evaluate` reports the
# sum (the `loss` it returns includes the penalty). Three models trained for a few epochs on
# 1,000 training images, same seed, same batches:

# %% tags=["nbval-ignore-output"]
epochs = profile.pick(book=6, full=20)
trained, rows = {}, {}
for label in ["none", "ℓ2 (0.01)", "ℓ1 (0.001)"]:
    model = regularized_mlp(regularizers[label])
    fit(model, small.train, epochs=epochs, optimizer="adam", seed=0)
    kernels = [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]
    l1, l2 = factors[label]
    total_loss = model.evaluate(*small.valid, verbose=0, return_dict=True)["loss"]
    probs = model.predict(small.valid.x, verbose=0)
    trained[label] = np.concatenate([k.ravel() for k in kernels])
    rows[label] = {
        "val accuracy": np.mean(probs.argmax(1) == small.valid.y),
        "evaluate loss": total_loss,
        "cross-entropy": log_loss(probs, small.valid.y),
        "penalty": l1_l2_penalty(kernels, l1=l1, l2=l2),
        "‖w‖₂": np.sqrt(np.sum(trained[label] ** 2)),
        "|w| < 1e-3 (%)": 100 * np.mean(np.abs(trained[label]) < 1e-3),
    }
table = pd.DataFrame.from_dict(rows, orient="index")
table.round(3)

# %%
gap = (table["evaluate loss"] - table["cross-entropy"] - table["penalty"]).abs()
claim(
    "evaluate's loss = cross-entropy + penalty (to 1e-3) for all three models",
    bool((gap < 1e-3).all()),
    measured=gap.tolist(),
)
claim(
    "ℓ2 shrinks the weights: ‖w‖ at least 1.5× smaller than without",
    table.loc["none", "‖w‖₂"] > 1.5 * table.loc["ℓ2 (0.01)", "‖w‖₂"],
    measured=table["‖w‖₂"].tolist(),
)
claim(
    "ℓ1 makes the weights sparse: at least 5× more weights below 1e-3 in magnitude",
    table.loc["ℓ1 (0.001)", "|w| < 1e-3 (%)"] > 5 * table.loc["none", "|w| < 1e-3 (%)"],
    measured=table["|w| < 1e-3 (%)"].tolist(),
)

# %% [markdown]
# The total loss `evaluate` reports is the cross-entropy plus the penalty, to float32 precision.
# ℓ2 shrinks all weights towards 0 (in the run shown the norm of all kernels together drops by
# almost half), ℓ1 drives many of them to (nearly) 0: about 45 % of them are below $10^{-3}$ in
# magnitude, a sparse model. With these strengths and only 6 epochs both cost some validation
# accuracy; the strength is a hyperparameter to tune on the validation set. The histograms of all
# kernel weights:

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.4))
bins = np.linspace(-0.4, 0.4, 161)
for label, weights in trained.items():
    ax.hist(weights, bins=bins, histtype="step", lw=1.5, label=label, density=True)
ax.set_yscale("log")
ax.set_xlabel("weight value")
ax.set_ylabel("density (log scale)")
ax.set_title(f"Kernel weights after {epochs} epochs of Adam")
ax.legend()
plt.show()

# %% [markdown]
# ## ℓ2 regularization is not weight decay under Adam
#
# With plain SGD, adding $\lambda_2 \lVert\mathbf w\rVert^2$ to the loss adds $2\lambda_2\mathbf w$
# to the gradient, and the update $\mathbf w \leftarrow \mathbf w - \eta\,(\nabla L +
# 2\lambda_2\mathbf w) = (1 - 2\eta\lambda_2)\,\mathbf w - \eta\nabla L$ *decays* every weight by the
# same factor: ℓ2 regularization and weight decay are the same thing. Adam divides each gradient
# component by the running root mean square of that component's gradients, $\sqrt{\hat v}$, and the
# penalty's gradient is divided with it. A weight whose data gradients are large is then barely
# decayed, one whose data gradients are small is decayed hard. Loshchilov & Hutter (2019) proposed
# to *decouple* the decay from the gradient: $\mathbf w \leftarrow \mathbf w - \eta\lambda\mathbf w$,
# then the Adam step. That is `keras.optimizers.AdamW` (the book's default optimizer in Table
# 11-3), and `tdnn.regularization.adam_trajectory` reproduces both, tested step for step against
# `keras.optimizers.Adam` with the penalty in the gradient and against `AdamW`.
#
# The smallest example: two weights that the data says nothing about (their data gradient is pure
# noise, mean 0), so any regularizer should pull both to 0. The only difference between them is
# the scale of the noise: 1 for the first weight, 0.01 for the second. Float64 NumPy, seeded noise:

# %%
noise_scale = np.array([1.0, 0.01])


def noisy_gradient(seed):
    rng = np.random.default_rng(seed)
    return lambda w: noise_scale * rng.standard_normal(2)


steps, lr = 2_000, 1e-3
runs = {
    "Adam + ℓ2 (λ₂ = 0.05)": adam_trajectory(
        noisy_gradient(0), [1.0, 1.0], steps, learning_rate=lr, l2=0.05
    ),
    "AdamW (weight decay 0.1)": adam_trajectory(
        noisy_gradient(0), [1.0, 1.0], steps, learning_rate=lr, weight_decay=0.1
    ),
    "SGD-equivalent decay": np.ones((steps + 1, 2))
    * (1 - lr * 0.1) ** np.arange(steps + 1)[:, None],
}
fig, ax = plt.subplots(figsize=(7.0, 3.4))
for i, (label, traj) in enumerate(runs.items()):
    for j, ls in enumerate(["-", "--"]):
        ax.plot(
            traj[:, j],
            color=f"C{i}",
            ls=ls,
            lw=1.4,
            zorder=3 - i,  # Adam + ℓ2 on top
            label=f"{label}, noise {noise_scale[j]:g}",
        )
ax.set_xlabel("step")
ax.set_ylabel("weight")
ax.set_title("Two uninformative weights under Adam + ℓ2 and AdamW")
ax.legend(fontsize=8, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
plt.show()
summary = pd.DataFrame(
    {label: traj[-1] for label, traj in runs.items()}, index=["noise 1", "noise 0.01"]
).T
print(f"weights after {steps} steps (both started at 1):")
summary.round(3)

# %% [markdown]
# Under Adam + ℓ2 the weight with small gradients is pulled almost to 0 (0.019), while the one
# with large gradients, which the data equally ignores, keeps most of its value (0.861): the
# effective decay is $2\lambda_2 w/\sqrt{\hat v}$, about a hundred times weaker for it. AdamW
# shrinks both weights alike (0.860 and 0.826), close to the factor $(1 - \eta\lambda)^t = 0.819$
# of SGD's weight decay; the noise only adds a random walk of Adam steps on top. The two
# optimizers happen to treat the first weight alike at these strengths; what differs is the
# second: ℓ2 under Adam regularizes each weight according to its gradient history, not its
# size. Unlike ℓ2, weight decay is also independent of the loss' scale.
#
# ## Dropout
#
# At every training step each neuron (here: each input of the next layer) is dropped with
# probability $p$, the *dropout rate*; the kept ones are divided by the keep probability
# $1 - p$, so that each input's expected value stays what it is without dropout. At inference
# dropout does nothing. (The book describes multiplying by $1-p$ at test time instead; Keras,
# like most libraries, does the *inverted* version, dividing during training.) In NumPy
# (`tdnn.regularization.apply_dropout`):
#
# $$\tilde x_i = \frac{m_i\, x_i}{1 - p}, \qquad m_i \sim \text{Bernoulli}(1 - p)$$

# %%
x = np.arange(1.0, 11.0)
print("x                 ", x)
print("dropout p=0.5     ", apply_dropout(x, 0.5, seed=3))
print("inference         ", apply_dropout(x, 0.5, training=False))
many = np.stack([apply_dropout(x, 0.5, seed=s) for s in range(20_000)])
print("mean of 20k draws ", many.mean(axis=0).round(2))

# %% [markdown]
# Each kept value is doubled, the expected value is unchanged (the mean over 20,000 seeded draws
# is $x$ to within the sampling noise). Against Keras, on a batch of 200×500 values: the mask is
# random, so it is checked statistically (the kept fraction lies within 5 binomial standard
# deviations of $1-p$), and the scaling exactly, by applying the reference with the mask Keras drew:

# %% tags=["nbval-ignore-output"]
x = np.random.default_rng(1).uniform(0.5, 2.0, (200, 500)).astype("float32")
for rate in [0.2, 0.5]:
    out = keras.layers.Dropout(rate, seed=0)(x, training=True).numpy()
    kept = out != 0
    sigma = np.sqrt(rate * (1 - rate) / kept.size)
    print(f"p = {rate}: kept fraction {kept.mean():.4f} (expected {1 - rate})")
    claim(
        f"p = {rate}: Keras keeps 1 - p of the values (within 5 binomial std)",
        abs(kept.mean() - (1 - rate)) < 5 * sigma,
        measured=kept.mean(),
    )
    claim(
        f"p = {rate}: kept values are x / (1 - p), the rest 0 (NumPy reference)",
        np.allclose(out, apply_dropout(x, rate, mask=kept), rtol=1e-6),
    )
    claim(
        f"p = {rate}: at inference Dropout is the identity",
        np.array_equal(keras.layers.Dropout(rate)(x, training=False).numpy(), x),
    )

# %% [markdown]
# ### Dropout against overfitting
#
# The setup that overfits: a 784-200-200-10 ReLU network (200k parameters) on 1,000 training
# images, trained with Adam for 16 epochs, without dropout and with dropout (the usual rates of
# Srivastava et al., 2014: 0.2 on the inputs, 0.5 after each hidden layer). The accuracy Keras
# reports during training is computed with dropout active, so `CleanTrainingMetrics` runs the
# model on the training set with dropout off after every epoch (`clean_accuracy`), which is the
# figure to compare with the validation accuracy (the same callback with `prefix="val_"`
# computes the validation metrics). Three seeds each:


# %%
def overfit_mlp(dropout, seed, layer=keras.layers.Dropout):
    """784-200-200-10 ReLU MLP; with dropout: 0.2 on the inputs, `dropout` after each hidden layer."""
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((28, 28)), keras.layers.Flatten()]
    if dropout:
        layers.append(layer(0.2))
    for _ in range(2):
        layers.append(
            keras.layers.Dense(200, activation="relu", kernel_initializer="he_normal")
        )
        if dropout:
            layers.append(layer(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def clean_metrics():
    return [
        CleanTrainingMetrics(*small.train),
        CleanTrainingMetrics(*small.valid, prefix="val_"),
    ]


# %% tags=["nbval-ignore-output"]
seeds = profile.pick(book=range(3), full=range(5))
dropout_epochs = profile.pick(book=20, full=30)
histories, models = {}, {}
for seed in seeds:
    for label, rate in [("no dropout", 0.0), ("dropout", 0.3)]:
        model = overfit_mlp(rate, seed)
        histories[label, seed] = fit(
            model,
            small.train,
            epochs=dropout_epochs,
            optimizer="adam",
            seed=seed,
            callbacks=clean_metrics(),
        )
        models[label, seed] = model
final = pd.DataFrame(
    {
        key: {
            "train acc (no dropout)": h.clean_accuracy.iloc[-1],
            "val acc": h.val_accuracy.iloc[-1],
            "gap": h.clean_accuracy.iloc[-1] - h.val_accuracy.iloc[-1],
            "best val acc": h.val_accuracy.max(),
            "val loss": h.val_loss.iloc[-1],
        }
        for key, h in histories.items()
    }
).T
final.index.names = ["model", "seed"]
final.round(3).assign(
    **{"time/epoch": [format_duration(h.seconds.mean()) for h in histories.values()]}
)

# %%
gaps = final["gap"].unstack(0)
vals = final["val acc"].unstack(0)
losses = final["val loss"].unstack(0)
claim(
    "dropout shrinks the train-validation accuracy gap for every seed, by 0.02 on average",
    bool((gaps["dropout"] < gaps["no dropout"]).all())
    and (gaps["no dropout"] - gaps["dropout"]).mean() >= 0.02,
    measured=gaps.to_dict("list"),
)
claim(
    "dropout lowers the final validation loss by at least 0.1, for every seed",
    bool((losses["dropout"] < losses["no dropout"] - 0.1).all()),
    measured=losses.to_dict("list"),
)
claim(
    "dropout's final validation accuracy is within 0.03 of the one without, for every seed",
    bool(((vals["dropout"] - vals["no dropout"]).abs() <= 0.03).all()),
    measured=vals.to_dict("list"),
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharey=True)
for ax, label in zip(axes, ["no dropout", "dropout"]):
    h = histories[label, 0]
    ax.plot(h.index, h.clean_accuracy, label="training (dropout off)")
    ax.plot(h.index, h.accuracy, ls=":", label="training (as reported, dropout on)")
    ax.plot(h.index, h.val_accuracy, label="validation")
    ax.set_title(f"{label} (seed 0)")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("accuracy")
axes[1].legend(loc="lower right", fontsize=8)
fig.suptitle("784-200-200-10 MLP on 1,000 images: the generalization gap")
fig.tight_layout()
plt.show()

# %% [markdown]
# Without dropout the training accuracy (dropout off) climbs above 0.9 while the validation
# accuracy stalls around 0.8: the network starts memorizing its 1,000 images (the early-stopping
# section below shows its validation loss rising again after a few epochs). With dropout the gap
# between training and validation accuracy is smaller for every seed, the validation loss is
# clearly lower, and the validation accuracy about the same (the table gives the figures of the
# run shown). With dropout, the accuracy Keras reports *during* training (dotted) is lower than
# the clean one: it is measured on the thinned networks, while the weights still change.
#
# The price: **dropout slows training down.** Each step trains a random sub-network, so the
# training loss falls more slowly, and more epochs are needed to reach a given training accuracy
# (the time per epoch changes little, see `time/epoch` above):

# %% tags=["nbval-ignore-output"]
target = 0.8


def first_epoch(h, column, level):
    above = h.index[h[column] >= level]
    return int(above[0]) if len(above) else np.inf


reach = pd.DataFrame(
    {
        label: [first_epoch(histories[label, s], "clean_accuracy", target) for s in seeds]
        for label in ["no dropout", "dropout"]
    },
    index=pd.Index(list(seeds), name="seed"),
)
print(f"first epoch with training accuracy (dropout off) ≥ {target}:")
reach

# %%
claim(
    f"over the seeds, dropout needs at least 1.5× as many epochs to reach {target} training accuracy",
    reach["dropout"].sum() >= 1.5 * reach["no dropout"].sum(),
    measured=reach.to_dict("list"),
)

# %% [markdown]
# ### Alpha dropout keeps a SELU network self-normalized
#
# SELU networks keep each layer's outputs at mean 0 and variance 1 (chapter 3), but plain dropout
# breaks that: setting inputs to 0 and scaling the others by $1/(1-p)$ keeps the mean but inflates
# the variance to $1/(1-p)$. Alpha dropout (Klambauer et al., 2017) sets dropped inputs to SELU's
# saturation value $\alpha' = -\lambda\alpha \approx -1.758$ instead of 0, then applies an affine map
# $a x + b$ chosen to restore mean 0 and variance 1
# (`tdnn.regularization.alpha_dropout_params`, tested against `keras.layers.AlphaDropout`):

# %%
rate = 0.2
alpha_p, a, b = alpha_dropout_params(rate)
print(f"p = {rate}: α' = {alpha_p:.4f}, a = {a:.4f}, b = {b:.4f}")
z = np.random.default_rng(0).standard_normal(1_000_000)
rows = {
    "input": z,
    "dropout": apply_dropout(z, rate, seed=1),
    "alpha dropout": apply_alpha_dropout(z, rate, seed=1),
}
pd.DataFrame({k: {"mean": v.mean(), "variance": v.var()} for k, v in rows.items()}).T.round(
    3
)

# %% [markdown]
# Through a deep stack the difference compounds. A 30-layer SELU network of width 200 with LeCun
# normal weights, one forward pass of 1,000 standardized inputs in float64 NumPy, each layer's
# input passed through dropout, alpha dropout or nothing:

# %%
rng = np.random.default_rng(0)
width, depth = 200, 30
weights = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]
stats = {}
for label, drop in [
    ("no dropout", lambda h, s: h),
    ("dropout 0.2", lambda h, s: apply_dropout(h, 0.2, seed=s)),
    ("alpha dropout 0.2", lambda h, s: apply_alpha_dropout(h, 0.2, seed=s)),
]:
    h = np.random.default_rng(1).standard_normal((1000, width))
    means, stds = [], []
    for layer, w in enumerate(weights):
        h = selu(drop(h, layer) @ w)
        means.append(h.mean())
        stds.append(h.std())
    stats[label] = (means, stds)
fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2))
for label, (means, stds) in stats.items():
    axes[0].plot(range(1, depth + 1), means, label=label)
    axes[1].plot(range(1, depth + 1), stds, label=label)
axes[0].set_ylabel("mean of the layer's outputs")
axes[1].set_ylabel("std of the layer's outputs")
for ax in axes:
    ax.set_xlabel("layer")
axes[1].legend(fontsize=8)
fig.suptitle("SELU stack, 30 layers: dropout vs alpha dropout (float64 NumPy)")
fig.tight_layout()
plt.show()
for k, (m, s) in stats.items():
    print(f"layer 30, {k}: mean {m[-1]:+.2f}, std {s[-1]:.2f}")

# %% [markdown]
# Without dropout and with alpha dropout the outputs stay close to mean 0 and standard deviation
# 1 at every depth; with plain dropout they settle at a different fixed point, with a larger
# spread and a positive mean: the network no longer self-normalizes. Hence the book's advice: with
# SELU, use `AlphaDropout`.
#
# ## MC dropout
#
# A network trained with dropout is an ensemble of thinned networks; Gal & Ghahramani (2016)
# showed that keeping dropout on at inference and averaging the predictions of $T$ random thinned
# networks approximates Bayesian inference. The book's code is a one-liner,
# `np.stack([model(X_test, training=True) for sample in range(100)]).mean(axis=0)`;
# `tdnn.regularization.mc_predict(model, x, n_samples)` does the same and returns the mean and the
# standard deviation of the probabilities. `training=True` would also switch Batch Normalization
# layers to training mode, so for such models the book subclasses `Dropout` into an `MCDropout`
# layer that is always on; `tdnn.regularization.MCDropout` is that layer.
#
# The dropout models trained above, on the 1,000 validation images: plain predictions
# (`model.predict`, dropout off) against MC dropout with 100 samples. Besides accuracy, two
# measures of the probabilities themselves: the log-loss (the mean cross-entropy, lower is better)
# and the expected calibration error, ECE (Guo et al., 2017): group the predictions into 10 bins by
# confidence (their top probability) and average $|\text{accuracy} - \text{confidence}|$ over the
# bins, weighted by their size. A calibrated classifier that says "80 %" is right 80 % of the time.

# %% tags=["nbval-ignore-output"]
n_mc = 100
mc_rows, mc_results = {}, {}
for seed in seeds:
    model = models["dropout", seed]
    plain = model.predict(small.valid.x, verbose=0).astype(np.float64)
    plain /= plain.sum(axis=1, keepdims=True)
    keras.utils.set_random_seed(seed)
    mean, std, samples = mc_predict(model, small.valid.x, n_mc, return_samples=True)
    mc_results[seed] = (plain, mean, std, samples)
    for label, probs in [("plain", plain), ("MC dropout", mean)]:
        mc_rows[seed, label] = {
            "accuracy": np.mean(probs.argmax(1) == small.valid.y),
            "log-loss": log_loss(probs, small.valid.y),
            "ECE": expected_calibration_error(probs, small.valid.y),
            "mean confidence": probs.max(1).mean(),
        }
mc_table = pd.DataFrame.from_dict(mc_rows, orient="index").rename_axis(
    ["seed", "prediction"]
)
mc_table.round(3)

# %%
by = {m: mc_table[m].unstack(1) for m in mc_table.columns}
claim(
    "MC dropout lowers the log-loss for every seed",
    bool((by["log-loss"]["MC dropout"] < by["log-loss"]["plain"]).all()),
    measured=by["log-loss"].to_dict("list"),
)
claim(
    "MC dropout lowers the mean confidence for every seed",
    bool((by["mean confidence"]["MC dropout"] < by["mean confidence"]["plain"]).all()),
    measured=by["mean confidence"].to_dict("list"),
)
claim(
    "MC dropout's accuracy is within 0.01 of the plain prediction's, for every seed",
    bool(((by["accuracy"]["MC dropout"] - by["accuracy"]["plain"]).abs() <= 0.01).all()),
    measured=by["accuracy"].to_dict("list"),
)

# %% [markdown]
# MC dropout's predictions are better *probabilities*: the log-loss is lower for every seed, with
# accuracy about the same (within 0.01; the book's example gained a little accuracy too). The
# plain network is somewhat overconfident (its mean confidence is above its accuracy); MC dropout
# lowers the confidence for every seed, to slightly below the accuracy in the run shown. The
# expected calibration error fell for every seed in the run shown, but by as little as 0.004 for
# some: too little, over three seeds and a 1,000-image validation set, to claim. Dropout itself
# already regularized this network, so the plain predictions were not badly calibrated to begin
# with. The reliability diagram of seed 0, bin by bin (a calibrated model lies on the diagonal):

# %%
plain, mean, std, samples = mc_results[0]
fig, ax = plt.subplots(figsize=(5.2, 4.2))
ax.plot([0, 1], [0, 1], color="gray", ls="--", lw=1, label="perfect calibration")
for label, probs, marker in [("plain", plain, "o"), ("MC dropout (100)", mean, "s")]:
    curve = reliability_curve(probs, small.valid.y, n_bins=10)
    ax.plot(curve.confidence, curve.accuracy, marker=marker, label=label)
ax.set_xlabel("mean confidence in the bin")
ax.set_ylabel("accuracy in the bin")
ax.set_title("Reliability diagram (1,000 validation images)")
ax.set_xlim(0, 1)
ax.set_ylim(0, 1)
ax.legend()
plt.show()

# %% [markdown]
# Below the diagonal means overconfident. The standard deviation over the 100 samples is an
# uncertainty estimate per image. The four images the model (seed 0) is surest about and the four
# it is least sure about, ranked by the standard deviation of the predicted class' probability:

# %%
predicted = mean.argmax(1)
spread = std[np.arange(len(predicted)), predicted]
order = np.argsort(spread)
fig, axes = plt.subplots(2, 4, figsize=(8.0, 4.6))
for row, (title, picks) in enumerate([("confident", order[:4]), ("uncertain", order[-4:])]):
    for ax, i in zip(axes[row], picks):
        ax.imshow(small.valid.x[i], cmap="binary")
        ax.set_title(
            f"{CLASS_NAMES[predicted[i]]} {mean[i, predicted[i]]:.2f}±{spread[i]:.2f}\n"
            f"(true: {CLASS_NAMES[small.valid.y[i]]})",
            fontsize=8,
        )
        ax.axis("off")
    axes[row, 0].text(-8, 14, title, rotation=90, va="center", ha="right", fontsize=10)
fig.suptitle("MC dropout: predicted class, mean probability ± std over 100 samples")
fig.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
correct = predicted == small.valid.y
quartiles = pd.qcut(spread, 4, labels=["lowest", "second", "third", "highest"])
by_quartile = pd.Series(correct).groupby(quartiles, observed=True).mean()
print("accuracy by quartile of the MC standard deviation (lowest first):")
print(by_quartile.round(3).to_string())

# %%
claim(
    "the most uncertain quarter of the images is at least 0.2 less accurate than the surest",
    by_quartile["lowest"] - by_quartile["highest"] >= 0.2,
    measured=by_quartile.tolist(),
)

# %% [markdown]
# The uncertainty is informative: the quarter of images with the highest standard deviation is
# much less accurate than the quarter with the lowest (the figures printed above), so the
# standard deviation flags the predictions to double-check.
#
# **How many samples are enough?** The MC estimate is a mean of random draws, so its own
# standard deviation falls like $1/\sqrt T$. From the 100 stored samples, means of $T$ samples
# drawn without replacement, 30 times each (`mc_estimate_spread`, NumPy on the stored samples):

# %% tags=["nbval-ignore-output"]
ns = [1, 2, 5, 10, 20, 50]
spread_table = mc_estimate_spread(samples, ns, n_repeats=30, seed=0)
spread_table["accuracy"] = [
    np.mean(samples[:n].mean(axis=0).argmax(1) == small.valid.y) for n in ns
]
spread_table.round(4)

# %%
ratio = spread_table.loc[1, "prob_std"] / spread_table.loc[20, "prob_std"]
claim(
    "the MC estimate's spread falls about like 1/√T: 20 samples cut it 3.5× to 6.5×",
    3.5 <= ratio <= 6.5,
    measured=ratio,
)
claim(
    "20 samples change the predicted class of at least 3× fewer images than 1 sample does",
    spread_table.loc[20, "class_flips"] * 3 <= spread_table.loc[1, "class_flips"],
    measured=spread_table.loc[20, "class_flips"],
)

# %% [markdown]
# The spread of the probabilities falls like $1/\sqrt T$ (a little faster, since the $T$ samples
# are drawn without replacement from only 100: the finite-population factor
# $\sqrt{(100-T)/99}$ makes the expected ratio for $T = 20$ about 5 instead of $\sqrt{20}
# \approx 4.5$). A single sample changes the predicted class of many images, 20 samples of a few
# percent in the run shown. A few dozen samples are enough for the predicted class; the
# probabilities and their uncertainty keep improving slowly beyond that, and each sample costs one
# forward pass: the book's 100 is a comfortable choice where inference time allows.
#
# The same predictions without `training=True`: the seed-0 dropout model rebuilt with `MCDropout`
# layers (`overfit_mlp(..., layer=MCDropout)`) and given the trained weights. Its dropout stays on
# in `predict`, so two calls differ, while the original model's `predict` is deterministic:

# %%
mc_model = overfit_mlp(0.3, seed=0, layer=MCDropout)
mc_model.set_weights(models["dropout", 0].get_weights())
x_few = small.valid.x[:8]
print(
    "MCDropout model, two predict() calls differ:",
    not np.allclose(mc_model.predict(x_few, verbose=0), mc_model.predict(x_few, verbose=0)),
)
print(
    "Dropout model, two predict() calls are identical:",
    np.array_equal(
        models["dropout", 0].predict(x_few, verbose=0),
        models["dropout", 0].predict(x_few, verbose=0),
    ),
)

# %% [markdown]
# ## Max-norm regularization
#
# Max-norm constrains each neuron's incoming weight vector to $\lVert\mathbf w\rVert_2 \le r$,
# rescaling it after each training step. In Keras: `kernel_constraint=keras.constraints.MaxNorm(r)`.
# **Mind the axis:** a `Dense` kernel has shape `(n_inputs, n_units)`, so one unit's incoming
# weights are a *column*, and the norm is taken over `axis=0`, MaxNorm's default. `axis=1` would
# constrain each input's outgoing weights instead (for a `Conv2D` kernel, use `axis=[0, 1, 2]`).
# The dropout model of above with max-norm $r = 1$ on both hidden layers, and the check after
# training, in float64 from the weights (`unit_norms`):


# %% tags=["nbval-ignore-output"]
def maxnorm_mlp(r, seed=0):
    keras.utils.set_random_seed(seed)
    Dense = partial(
        keras.layers.Dense,
        activation="relu",
        kernel_initializer="he_normal",
        kernel_constraint=keras.constraints.MaxNorm(r),
    )
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.2),
            Dense(200),
            keras.layers.Dropout(0.5),
            Dense(200),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


r = 1.0
maxnorm_model = maxnorm_mlp(r)
h_maxnorm = fit(
    maxnorm_model,
    small.train,
    epochs=10,
    optimizer="adam",
    seed=0,
    callbacks=clean_metrics(),
)
rows = {}
for label, model in [
    ("no constraint", models["dropout", 0]),
    (f"MaxNorm({r})", maxnorm_model),
]:
    for i, layer in enumerate(dense_layers(model)[:-1], start=1):
        norms = unit_norms(layer.kernel.numpy())
        rows[label, f"hidden {i}"] = {
            "largest unit norm": norms.max(),
            "median unit norm": np.median(norms),
            "units with norm ≥ 0.999 r (%)": 100 * np.mean(norms >= 0.999 * r),
        }
print(
    f"MaxNorm model: validation accuracy after 10 epochs {h_maxnorm.val_accuracy.iloc[-1]:.3f}"
)
pd.DataFrame.from_dict(rows, orient="index").round(3)


# %%
def largest_unit_norm(model):
    return max(unit_norms(layer.kernel.numpy()).max() for layer in dense_layers(model)[:-1])


largest = largest_unit_norm(maxnorm_model)
claim(
    f"after training, every hidden unit's incoming weight vector has norm ≤ r = {r}",
    largest <= r * (1 + 1e-6),
    measured=largest,
)
claim(
    "without the constraint, some units' norms exceed r",
    largest_unit_norm(models["dropout", 0]) > r,
    measured=largest_unit_norm(models["dropout", 0]),
)

# %% [markdown]
# Every unit of the constrained model ends with norm at most $r$, many of them exactly at the
# bound (the constraint was active); the unconstrained model's units grow beyond it. MaxNorm
# rescales by $r / (\epsilon + \lVert\mathbf w\rVert)$ with $\epsilon = 10^{-7}$, so the norms land
# a hair *below* $r$.
#
# ## Early stopping
#
# The simplest regularizer: stop when the validation loss has not improved for `patience` epochs
# and roll back to the best epoch. `keras.callbacks.EarlyStopping(patience=5,
# restore_best_weights=True)` does both. Does the model end up with *exactly* the best epoch's
# weights? `tdnn.regularization.WeightHistory` keeps a copy of the weights after every epoch, so we
# can compare bit for bit. The overfitting network without dropout, up to 40 epochs:

# %% tags=["nbval-ignore-output"]
model = overfit_mlp(0.0, seed=0)
recorder = WeightHistory()
stopper = keras.callbacks.EarlyStopping(
    monitor="val_loss", patience=5, restore_best_weights=True
)
h_es = fit(
    model,
    small.train,
    epochs=40,
    optimizer="adam",
    seed=0,
    callbacks=[*clean_metrics(), recorder, stopper],
)
best_epoch = int(h_es.val_loss.idxmin())
print(f"trained {len(h_es)} epochs; lowest validation loss at epoch {best_epoch}")
print(f"the model's weights are the best epoch's: {recorder.matches(model, best_epoch)}")
print(f"the model's weights are the last epoch's: {recorder.matches(model, len(h_es))}")

# %%
claim(
    "early stopping stopped before epoch 40, after the best epoch",
    len(h_es) < 40 and best_epoch < len(h_es),
    measured=(len(h_es), best_epoch),
)
claim(
    "restore_best_weights left exactly the best epoch's weights (bit for bit)",
    recorder.matches(model, best_epoch) and best_epoch == stopper.best_epoch + 1,
    measured=(best_epoch, stopper.best_epoch + 1),
)

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.4))
ax.plot(h_es.index, h_es.loss, marker="o", ms=3, label="training loss")
ax.plot(h_es.index, h_es.val_loss, marker="o", ms=3, label="validation loss")
ax.axvline(best_epoch, color="k", ls="--", lw=1, label="best epoch (restored)")
ax.axvspan(best_epoch, len(h_es), color="gray", alpha=0.15, label="patience (5 epochs)")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("loss (log scale)")
ax.set_title("Early stopping on the validation loss")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Training stopped 5 epochs after the lowest validation loss, and the model holds the weights of
# that epoch, bit for bit. Two details of Keras 3: the best epoch is judged on `monitor` (here the
# validation loss; the validation *accuracy* often peaks later); and `restore_best_weights=True`
# restores the best weights at the end of training even when training ran all its epochs without
# stopping (Keras 2 restored them only when it stopped early).
#
# ## Key takeaways
#
# - ℓ2 regularization adds $\lambda\sum w^2$ (no ½ in Keras) per regularized layer and shrinks all
#   weights; ℓ1 adds $\lambda\sum|w|$ and makes many weights exactly 0. Declare them once with
#   `functools.partial`.
# - Under Adam, ℓ2 regularization is not weight decay: the penalty's gradient is rescaled with the
#   data gradients, so weights with large gradients are hardly regularized. Use AdamW.
# - Dropout (inverted: kept units scaled by $1/(1-p)$ during training) shrank the train-validation
#   gap of an overfitting MLP and lowered its validation loss without hurting validation accuracy,
#   at the cost of slower training. With SELU, use alpha dropout, which keeps the activations standardized.
# - MC dropout averages predictions with dropout on: here it gave better probabilities (lower
#   log-loss, less overconfidence) at about the same accuracy, and an uncertainty per image that
#   flags the likely mistakes. Tens of samples suffice for the class, more sharpen the probabilities.
# - Max-norm bounds every unit's incoming weight norm (axis 0 for `Dense`); early stopping with
#   `restore_best_weights=True` returns exactly the best epoch's weights.
#
# ## Exercises
#
# 1. Train the ℓ2 model with `SGD` instead of Adam and with λ₂ = 0.001, 0.01, 0.1. How does the
#    final weight norm scale with λ₂? Then replace the ℓ2 regularizer with `AdamW(weight_decay=...)`
#    and find a decay that gives the same validation accuracy.
# 2. Rerun the dropout experiment with $p = 0.1$ and $p = 0.5$. How do the gap and the number of
#    epochs to 80 % training accuracy change?
# 3. Compute MC dropout's log-loss for $T = 1, 2, 5, 10, 20, 50, 100$ on seed 0. From which $T$ is it
#    better than the plain prediction?
# 4. Build a model whose `MaxNorm` uses `axis=1` by mistake. Which norms are bounded after
#    training? Check with `unit_norms(kernel, axis=0)` and `axis=1`.
