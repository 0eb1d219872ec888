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
# # 10. Practical guidelines
#
# > **In short.** The chapter's closing advice: its default and self-normalizing configurations
# > (Tables 11-3 and 11-4), kept as data, then put to the test on the full Fashion-MNIST training
# > set, where the chapter's recipe (He initialization, Batch Normalization, AdamW, 1cycle, larger
# > batches) reaches 88 % validation accuracy sooner than plain SGD with batch 32 and ends more
# > accurate. A checklist for a network that does not learn points each symptom to the notebook that
# > shows its cause and its fix.
#
# The chapter ends with a summary: which of its many techniques to reach for first. In this
# notebook:
#
# - the chapter's two configuration tables, the default DNN (Table 11-3) and the self-normalizing
#   net (Table 11-4), kept as data in `tdnn.guidelines`, and its advice on when to deviate;
# - putting it all together: an MLP on the full Fashion-MNIST training set, trained the plain way
#   (the default of the previous chapter of the book: SGD with learning rate 0.01, batch 32) and the
#   chapter's way (He initialization, Batch Normalization, AdamW, 1cycle, larger batches), side by
#   side in one run: how long each takes to reach 88 % validation accuracy;
# - a checklist for a network that does not learn, each item linked to the notebook that shows it.
#
# **Exact and measured outputs.** The tables are data and compared strictly by the tests; the
# training race is float32 TensorFlow and the clock, so its cells are tagged `nbval-ignore-output`
# and their lesson is checked by claims (`✓ ...`) whose margins the text justifies.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn.claims import claim
from tdnn.data import load_fashion_mnist
from tdnn.guidelines import WHEN_TO_DEVIATE, config_table
from tdnn.models import build_mlp
from tdnn.schedules import OneCycleScheduler
from tdnn.training import fit, format_duration, format_ratio

pd.set_option("display.max_colwidth", 60)

# %% [markdown]
# ## The default configurations
#
# The book's two tables "work fine in most cases, without requiring much hyperparameter tuning".
# The first is the default for a deep network; the second for a plain stack of dense layers, which
# can self-normalize (chapter 3 of this companion):

# %%
config_table()

# %% [markdown]
# Every row is a chapter of this companion: initialization (2), activation functions (3), Batch
# Normalization (4), optimizers (7: Nesterov momentum, AdamW), learning-rate schedules (8:
# performance scheduling, 1cycle), regularization (9: early stopping, weight decay, alpha
# dropout). The book's advice on when to deviate from them, paraphrased:

# %%
pd.DataFrame(WHEN_TO_DEVIATE, columns=["situation", "advice"]).set_index("situation")

# %% [markdown]
# ## Putting it all together: the fastest route to 88 %
#
# The baseline is the plain recipe: the book's 784-300-100-10 ReLU MLP with Keras' default
# Glorot initialization, SGD with learning rate $\eta = 0.01$, batch 32, run the way the book's
# code runs (one batch per call of the compiled train step, Keras' default; `tdnn.training.fit`
# otherwise runs 32 batches per call when no callback needs to see every batch, which makes
# small batches faster on a CPU and changes no number). The contender follows
# Table 11-3, within what this machine allows in about a minute, with two deviations: Batch
# Normalization (the table keeps it for deep nets and uses none in a shallow one like this; here it
# allows a high learning rate from the first step) and no early stopping (a 1cycle run has a fixed
# length). So: the same layers with He initialization, Batch Normalization after each hidden layer,
# AdamW (each step first shrinks the weights, $\mathbf w \leftarrow (1 - \eta\lambda)\,
# \mathbf w$ with $\lambda = 10^{-4}$, then takes the Adam step), 1cycle with a peak learning rate
# $\eta_\text{max} = 0.01$ (`tdnn.schedules.OneCycleScheduler`, set per batch), and batches of
# 256 (fewer, larger matrix products: much faster per epoch on a CPU). Both train on all 55,000
# training images and are scored on the 5,000 validation images after every epoch, one after the
# other in the same run. The clock counts training only (`fit`'s per-epoch wall time), not the
# per-epoch validation. With $t_{88}$ the training time until the first epoch that ends at
# $\ge 88\,\%$, the speed-up is $r = t_{88}^\text{default} / t_{88}^\text{recipe}$; if the
# default has not reached 88 % after its $T$ seconds of training, then
# $t_{88}^\text{default} > T$ and $r > T / t_{88}^\text{recipe}$: a lower bound.

# %% tags=["nbval-ignore-output"]
data = load_fashion_mnist()
target = 0.88
default_epochs = profile.pick(book=4, full=30)
fast_epochs = profile.pick(book=4, full=4)
fast_batch = 256

cpu = {}
cpu_start = time.process_time()
default_model = build_mlp((300, 100), activation="relu", seed=0)
h_default = fit(
    default_model,
    data.train,
    valid=data.valid,
    epochs=default_epochs,
    batch_size=32,
    optimizer="sgd",
    learning_rate=0.01,
    seed=0,
    steps_per_execution=1,  # Keras' default, as the book's code runs: one batch per step
)
cpu["default"] = time.process_time() - cpu_start

cpu_start = time.process_time()
fast_model = build_mlp(
    (300, 100),
    activation="relu",
    kernel_initializer="he_normal",
    batch_norm="after",
    seed=0,
)
steps = fast_epochs * int(np.ceil(len(data.train.y) / fast_batch))
h_fast = fit(
    fast_model,
    data.train,
    valid=data.valid,
    epochs=fast_epochs,
    batch_size=fast_batch,
    optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=1e-4),
    seed=0,
    callbacks=[one_cycle := OneCycleScheduler(steps, max_lr=0.01)],
)
cpu["fast"] = time.process_time() - cpu_start


def time_to(h, level):
    """Cumulative training seconds at the end of the first epoch with val_accuracy >= level."""
    reached = h.val_accuracy >= level
    return float(h.seconds.cumsum()[reached].iloc[0]) if reached.any() else None


race = {}
for label, h, key in [
    ("plain default", h_default, "default"),
    ("chapter's recipe", h_fast, "fast"),
]:
    t = time_to(h, target)
    race[label] = {
        "epochs": len(h),
        "final val acc": round(float(h.val_accuracy.iloc[-1]), 3),
        "best val acc": round(float(h.val_accuracy.max()), 3),
        "time/epoch": format_duration(h.seconds.mean()),
        "total time": format_duration(h.seconds.sum()),
        f"time to {target:.0%}": "not reached" if t is None else format_duration(t),
        "CPU time, whole run": format_duration(cpu[key]),
    }
pd.DataFrame.from_dict(race, orient="index").T

# %%
t_fast = time_to(h_fast, target)
t_default = time_to(h_default, target)
claim(
    f"the fast recipe reaches {target:.0%} validation accuracy",
    t_fast is not None,
    measured=h_fast.val_accuracy.max(),
)
if t_default is None:  # the book profile: the default stops before reaching the target
    ratio = h_default.seconds.sum() / t_fast
    claim(
        f"the default recipe has not reached {target:.0%} after {default_epochs} epochs",
        h_default.val_accuracy.max() < target,
        measured=h_default.val_accuracy.max(),
    )
    claim(
        "so the fast recipe gets there sooner (the ratio printed is a lower bound)",
        ratio > 1.0,
        measured=ratio,
    )
else:  # the full profile: both reach it
    ratio = t_default / t_fast
    claim("the fast recipe gets there sooner", ratio > 1.0, measured=ratio)
gain = h_fast.val_accuracy.iloc[-1] - h_default.val_accuracy.iloc[-1]
claim(
    "and ends at least 0.02 more accurate",
    gain >= 0.02 or (profile.full and gain >= 0.0),
    measured=gain,
)
print(f"ratio of the times (lower bound in the book profile): {format_ratio(ratio)}")

# %% [markdown]
# The chapter's recipe crossed 88 % in its third or fourth epoch and ended near 90 %; the plain
# recipe had not reached 88 % after its four epochs (it ended around 85 %), and it had trained
# longer. Its true time to 88 % is longer still (the book's run of this model needs tens of
# epochs), so the ratio printed is only a lower bound; with `TDNN_PROFILE=full` the default trains
# for 30 epochs, long enough to measure the ratio itself.
#
# The margin: over three seeds and with `ONEDNN_MAX_CPU_ISA=SSE41`, the chapter's recipe ended
# between 0.894 and 0.897, the default between 0.85 and 0.86, so the first three checks have
# room. The time ratio is the fragile one, so the check asks only that the recipe gets there
# sooner: on a busy machine (up to eight TensorFlow jobs on two cores) the lower bound ranged from
# 1.5× to 2.0× over four runs (three with the default instruction set, one under SSE41), and in CI,
# under SSE41 with the other test pass busy on the same two cores, it fell to 1.12×. On a quiet
# machine it is larger, because much of the speed-up is parallelism: batches of 256 keep both cores busy with large
# matrix products, while batches of 32 spend most of their time in per-step overhead on one core.
# The CPU-time row shows the work each run did, summed over cores.
#
# Where else does the speed come from? Batch Normalization and He initialization let the high
# learning rates of 1cycle work from the first step, and 1cycle's final annealing settles the
# weights: the last epoch gains the most. The schedule the recipe really used, read back from the
# callback (it also cycles Adam's $\beta_1$ against the learning rate, as 1cycle cycles the
# momentum):

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.2))
ax.plot(one_cycle.learning_rates, label="learning rate η")
ax.set_xlabel("training step (batch of 256)")
ax.set_ylabel("learning rate")
ax2 = ax.twinx()
ax2.plot(one_cycle.momentums, color="C1", label="β₁ (momentum)")
ax2.set_ylabel("β₁")
ax.set_title(f"1cycle over {steps} steps ({fast_epochs} epochs)")
fig.legend(loc="upper right", bbox_to_anchor=(0.88, 0.85))
plt.show()

# %% [markdown]
# The learning curves, against epochs and against wall-clock time:

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharey=True)
for label, h in [("default (SGD, batch 32)", h_default), ("chapter's recipe", h_fast)]:
    axes[0].plot(h.index, h.val_accuracy, marker="o", label=label)
    axes[1].plot(h.seconds.cumsum(), h.val_accuracy, marker="o", label=label)
for ax in axes:
    ax.axhline(target, color="gray", ls="--", lw=1)
axes[0].set_xlabel("epoch")
axes[1].set_xlabel("training time (s, wall clock)")
axes[0].set_ylabel("validation accuracy")
axes[1].legend(loc="lower right")
fig.suptitle("Fashion-MNIST MLP (55,000 images): plain default vs the chapter's recipe")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Debugging a network that does not learn
#
# When training goes wrong, the symptom usually points at one of the chapter's problems. A
# checklist (also available as data, `tdnn.guidelines.DEBUG_CHECKLIST`), each item pointing to
# the notebook that shows the problem and its fix:
#
# | symptom | check or try | notebook |
# | --- | --- | --- |
# | The loss does not move from the start (about ln 10 ≈ 2.30 for 10 classes) | Vanishing gradients: compare per-layer gradient norms; switch from sigmoid/tanh with default init to ReLU-family activations with He init | [01_vanishing_exploding_gradients](01_vanishing_exploding_gradients.ipynb) |
# | Activations shrink or blow up from layer to layer | Initialization does not match the activation: Glorot for tanh/sigmoid/softmax, He for ReLU and its variants, LeCun for SELU | [02_initialization](02_initialization.ipynb) |
# | Many hidden units output 0 for every input | Dying ReLUs: measure the dead-unit fraction; try leaky ReLU, ELU or a lower learning rate | [03_activations](03_activations.ipynb) |
# | A deep network trains slowly or is very sensitive to the learning rate | Add batch normalization (or use SELU on a plain dense stack) | [04_batch_normalization](04_batch_normalization.ipynb) |
# | The loss jumps to inf or NaN after some steps | Exploding gradients or a learning rate that is too high: log the gradient norm, clip it (global_clipnorm), lower the learning rate | [05_gradient_clipping](05_gradient_clipping.ipynb) |
# | Too little labeled data to learn the task | Reuse the lower layers of a network trained on a similar task, frozen first | [06_transfer_learning](06_transfer_learning.ipynb) |
# | Training progresses, but slowly | Use a faster optimizer (momentum, Nesterov, Adam/AdamW) instead of plain SGD | [07_optimizers](07_optimizers.ipynb) |
# | The loss plateaus or oscillates and then diverges | The learning rate is too high or never decays: find it with an LR sweep, then use a schedule (performance scheduling, 1cycle) | [08_lr_schedules](08_lr_schedules.ipynb) |
# | Training accuracy keeps improving while validation accuracy does not | Overfitting: early stopping, ℓ2/weight decay, dropout, max-norm | [09_regularization](09_regularization.ipynb) |
#
# Two habits catch most of these early: **look at the numbers before training** (the loss at
# initialization should be about $\ln 10 \approx 2.30$ for 10 balanced classes; the per-layer
# activation and gradient statistics should neither shrink nor explode) and **overfit a tiny
# subset first** (a few hundred images): a network that cannot fit them has a bug, not a
# regularization problem.
#
# ## Key takeaways
#
# - Start from Table 11-3 (or 11-4 for a plain dense stack) and deviate for a reason: sparsity,
#   latency, risk.
# - Combined, the chapter's techniques are worth more than any one of them: the recipe with He
#   initialization, Batch Normalization, AdamW, 1cycle and large batches reached 88 % validation
#   accuracy in four epochs, sooner than plain SGD with batch 32, which had not reached it after
#   four epochs of its own, and ended about 0.04 more accurate.
# - When a network does not learn, diagnose before tuning: the checklist above maps symptoms to
#   the notebooks that show them.
#
# ## Exercises
#
# 1. Replace Batch Normalization in the fast recipe with SELU and LeCun initialization (Table
#    11-4). How long does it take to reach 88 %?
# 2. Keep the fast recipe but train with batch 32. Which part of the speed-up came from the batch
#    size, which from the optimizer and schedule?
# 3. Give the default recipe a time budget equal to the fast recipe's total time. Which validation
#    accuracy does it reach?
