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
# # 6. Transfer learning, evaluated honestly
#
# > **In short.** The book's transfer-learning recipe (reuse A's lower layers, freeze, train,
# > unfreeze, recompile) run step by step, with its pitfall: training a model built on A's layers
# > changes model A too, unless you clone it. Then the book's own caveat ("I cheated!") taken
# > seriously: over 10 seeds and three pairs of classes, transfer helps on the book's pair in most
# > seeds but by less than the book's factor of four, and on an easy and a hard pair it hurts in
# > most seeds. Reusing all of A's hidden layers frozen beats training from scratch in most
# > seeds; with only one or two reused layers, fine-tuning them does worse than keeping them
# > frozen. Pretraining without labels helps a little at 200 labels when it is an autoencoder
# > (not a rotation task), not at 50 labels, and makes no clear difference at 1,000. Transfer
# > pays when the pretrained features suit task B, and only several seeds tell whether they do.
#
# When a task has few labels, the book's advice is to reuse the lower layers of a network trained
# on a similar task. Its example: model A classifies eight Fashion-MNIST classes; task B tells
# shirts from sandals with only 200 labelled images. Reusing A's layers cut B's test error "from
# 2.8% down to 0.7%! That's a factor of four!" (the figures and the shirt/sandal task are those of
# the 2nd edition; the 3rd edition repeats the experiment with T-shirts/tops vs pullovers) — and
# then the book confesses: "I cheated! I tried many configurations until I found one that
# demonstrated a strong improvement." This notebook runs the experiment and then shows what a fair
# evaluation gives:
#
# - the two tasks (`tdnn.data.transfer_tasks`), model A, and `model_B_on_A`;
# - the shared-layers pitfall, measured, and fixed with `clone_model` + `set_weights`;
# - the recipe: freeze, compile, train, unfreeze, lower the learning rate, **recompile** (and what
#   happens if you don't), and a `.keras` file that keeps the frozen state;
# - caching the frozen layers' outputs: the same model, trained with less work per epoch;
# - the honest evaluation: scratch vs transfer over 10 seeds and three pairs of classes, with the
#   book's 2.8% → 0.7% placed in the distribution;
# - how many of model A's layers to reuse, frozen or fine-tuned;
# - pretraining without labels: an autoencoder, and a self-supervised rotation task, reused for a
#   10-class classifier with 50, 200 or 1,000 labels;
# - weights from another framework, copied with `set_weights`.
#
# Outputs of float32 TensorFlow training are *measured* (their digits change from CPU to CPU);
# each lesson drawn from them is checked by a `claim` line (✓) that holds on every machine.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import tempfile
import textwrap
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn.claims import claim
from tdnn.data import CLASS_NAMES, load_fashion_mnist, transfer_tasks
from tdnn.models import build_mlp, count_params
from tdnn.pretraining import (
    classifier_on,
    pretrain_autoencoder,
    pretrain_rotation,
    probe_on_budgets,
    standardize,
)
from tdnn.training import fit, format_duration, format_ratio
from tdnn.transfer import (
    cached_features,
    clone_with_weights,
    compare_on_budgets,
    error_rate,
    error_ratio,
    fit_epochs,
    reuse_layers,
    reuse_sweep,
    rotation_task,
    set_layer_weights,
    set_trainable,
    shared_variables,
    split_model,
    trainable_flags,
    transfer_vs_scratch,
)

# %% [markdown]
# ## Tasks A and B
#
# Task A: the eight classes other than sandal (5) and shirt (6), relabelled 0–7 in their original
# order. Task B: shirt (label 1) vs sandal (label 0), with only 200 training images. Every split of
# A and B comes from the same split of the book's 55,000 / 5,000 / 10,000 division, so no image is
# in two splits (`tests/test_data.py` checks the class sets, sizes, label mapping and the absence
# of leakage). To keep the notebook fast, model A sees the first 8,000 of its 44,000 training
# images (`TDNN_PROFILE=full`: all of them).

# %%
data = load_fashion_mnist()
n_train_a = profile.pick(book=8_000, full=None)
tasks = transfer_tasks(data, positive=6, negative=5, n_train_b=200, n_train_a=n_train_a)
print("task A labels:")
print(", ".join(f"{k} = {CLASS_NAMES[c]}" for k, c in enumerate(tasks.a_classes)))
print(f"task B: 1 = {CLASS_NAMES[tasks.positive]}, 0 = {CLASS_NAMES[tasks.negative]}")
pd.DataFrame(
    {
        "task A images": [len(s.y) for s in tasks.a],
        "task B images": [len(s.y) for s in tasks.b],
        "task B positives": [int(s.y.sum()) for s in tasks.b],
    },
    index=["train", "valid", "test"],
)

# %% [markdown]
# ## Model A
#
# A small MLP (784-100-50-50-8, ReLU), trained with plain SGD. The book's model A is larger
# (five hidden layers); the lesson does not need the size, and a small model lets us repeat the
# experiment many times below.

# %%
HIDDEN = (100, 50, 50)


def train_model_a(task_a, seed=42):
    model = build_mlp(HIDDEN, n_outputs=8, seed=seed, name="model_A")
    fit(model, task_a.train, epochs=5, batch_size=64, optimizer="sgd", learning_rate=0.05)
    return model


def accuracy(model, split):
    """Accuracy of a softmax classifier on an (x, y) split."""
    return float(np.mean(np.argmax(model.predict(split.x, verbose=0), axis=1) == split.y))


# %% tags=["nbval-ignore-output"]
model_A = train_model_a(tasks.a)
acc_A = accuracy(model_A, tasks.a.test)
print(f"model A: test accuracy on task A {acc_A:.3f}")
print("parameters:", count_params(model_A))

# %%
claim("model A reaches at least 80% test accuracy on task A", acc_A >= 0.80, measured=acc_A)

# %% [markdown]
# ## The shared-layers pitfall
#
# The book builds `model_B_on_A` from model A's layers:
#
# ```python
# model_B_on_A = keras.Sequential(model_A.layers[:-1])
# model_B_on_A.add(keras.layers.Dense(1, activation="sigmoid"))
# ```
#
# These are model A's *very* layers, not copies: the two models share their variables, and
# training `model_B_on_A` changes model A. Measured (we keep a backup of A's weights to undo the
# damage):

# %%
backup = model_A.get_weights()
model_B_on_A = keras.Sequential(model_A.layers[:-1])
model_B_on_A.add(keras.layers.Dense(1, activation="sigmoid"))
model_B_on_A.build((None, 28, 28))
print(
    f"variables of model_B_on_A shared with model A: "
    f"{shared_variables(model_A, model_B_on_A)} of {len(model_B_on_A.weights)}"
)

# %% tags=["nbval-ignore-output"]
fit(
    model_B_on_A,
    tasks.b.train,
    epochs=5,
    optimizer="sgd",
    learning_rate=0.01,
    loss="binary_crossentropy",
)
acc_A_after = accuracy(model_A, tasks.a.test)
a_changed = any(not np.array_equal(w, b) for w, b in zip(model_A.get_weights(), backup))
print(
    f"model A's accuracy on task A: {acc_A:.3f} before, {acc_A_after:.3f} after training B"
)
model_A.set_weights(backup)  # undo

# %%
claim("training model_B_on_A changed model A's weights", a_changed, measured=a_changed)
claim(
    "and lowered its accuracy on task A by at least 2 percentage points",
    acc_A_after <= acc_A - 0.02,
    measured=[acc_A, acc_A_after],
)

# %% [markdown]
# The fix, from the book: clone model A's architecture (`keras.models.clone_model`, which creates
# new, randomly initialized variables) and copy its weights (`set_weights`), then build on the
# clone. `tdnn.transfer.reuse_layers(model_A)` does exactly that (`clone_with_weights`) and adds
# the new output layer:

# %%
model_B_on_A = reuse_layers(model_A, seed=42, name="model_B_on_A")
print("shared variables:", shared_variables(model_A, model_B_on_A))
fit(
    model_B_on_A,
    tasks.b.train,
    epochs=5,
    optimizer="sgd",
    learning_rate=0.01,
    loss="binary_crossentropy",
)
print(
    "model A unchanged:",
    all(np.array_equal(w, b) for w, b in zip(model_A.get_weights(), backup)),
)

# %% [markdown]
# ## The recipe: freeze, train, unfreeze, lower the learning rate, recompile
#
# The new output layer starts random, so its first gradients are large and would wreck the reused
# weights. A gradient descent step updates only the trainable parameters,
# $\boldsymbol\theta \leftarrow \boldsymbol\theta - \eta\,\nabla_{\boldsymbol\theta}\mathcal L$; a frozen
# layer's $\mathbf W$ and $\mathbf b$ stay put. The book therefore freezes the reused layers for
# a few epochs, then unfreezes them and continues with a lower learning rate, so that
# fine-tuning adjusts the reused weights instead of overwriting them. First the baseline, model B trained from scratch on the 200 images (same
# architecture, 20 epochs, SGD at 0.01):

# %%
model_B = build_mlp(
    HIDDEN, n_outputs=1, output_activation="sigmoid", seed=42, name="model_B"
)
history_B = fit(
    model_B,
    tasks.b.train,
    epochs=20,
    optimizer="sgd",
    learning_rate=0.01,
    loss="binary_crossentropy",
)

# %% [markdown]
# Then the book's recipe, step by step: freeze every reused layer and **compile**, train 4 epochs:

# %%
model_B_on_A = reuse_layers(model_A, seed=42, name="model_B_on_A")
for layer in model_B_on_A.layers[:-1]:
    layer.trainable = False
model_B_on_A.compile(
    loss="binary_crossentropy",
    optimizer=keras.optimizers.SGD(learning_rate=0.01),
    metrics=["accuracy"],
)
reused_before = model_B_on_A.get_weights()[:-2]
fit(model_B_on_A, tasks.b.train, epochs=4)
params = count_params(model_B_on_A)
print(f"trainable parameters: {params['trainable']} of {params['total']}")
print(
    "reused weights unchanged after 4 frozen epochs:",
    all(np.array_equal(w, b) for w, b in zip(model_B_on_A.get_weights(), reused_before)),
)

# %% [markdown]
# Saved now, the model keeps its frozen state: `trainable` is part of each layer's configuration
# in the `.keras` file, and the reloaded model trains only its output layer (if you reload it to
# fine-tune, unfreeze and recompile as below).

# %%
x_check = tasks.b.test.x[:100]
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "my_model_B_on_A.keras"
    model_B_on_A.save(path)
    reloaded = keras.models.load_model(path)
print("trainable flags after reloading:", list(trainable_flags(reloaded).values()))
print(
    "same flags:",
    list(trainable_flags(reloaded).values())
    == list(trainable_flags(model_B_on_A).values()),
)
print("trainable parameters:", count_params(reloaded)["trainable"])
print(
    "same predictions:",
    np.allclose(
        reloaded.predict(x_check, verbose=0), model_B_on_A.predict(x_check, verbose=0)
    ),
)

# %% [markdown]
# Now unfreeze. Why does the book recompile? Keras collects the list of trainable variables when
# it builds its training function, at the first `fit` after `compile`, and keeps it: setting
# `trainable = True` on a compiled model changes nothing until `compile` is called again. Keras 3
# does not warn. A copy of the model shows it:

# %%
demo = clone_with_weights(model_B_on_A)  # the trainable flags are cloned too: still frozen
demo.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01))
fit(demo, tasks.b.train, epochs=1)  # builds the training function while frozen
before = demo.get_weights()[:-2]
set_trainable(demo, True)  # unfreeze, without recompiling
fit(demo, tasks.b.train, epochs=2)
print(
    "unfrozen but not recompiled: reused weights still unchanged:",
    all(np.array_equal(w, b) for w, b in zip(demo.get_weights(), before)),
)
demo.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01))
fit(demo, tasks.b.train, epochs=1)
print(
    "after recompiling: reused weights unchanged:",
    all(np.array_equal(w, b) for w, b in zip(demo.get_weights(), before)),
)

# %% [markdown]
# So: unfreeze, lower the learning rate (10× here: 0.001), recompile, train the remaining 16
# epochs.

# %% tags=["nbval-ignore-output"]
for layer in model_B_on_A.layers[:-1]:
    layer.trainable = True
model_B_on_A.compile(
    loss="binary_crossentropy",
    optimizer=keras.optimizers.SGD(learning_rate=0.001),
    metrics=["accuracy"],
)
fit(model_B_on_A, tasks.b.train, epochs=16)
error_B = error_rate(tasks.b.test.y, model_B.predict(tasks.b.test.x, verbose=0))
error_B_on_A = error_rate(tasks.b.test.y, model_B_on_A.predict(tasks.b.test.x, verbose=0))
print(f"test error, task B from scratch: {error_B:.2%}, with transfer: {error_B_on_A:.2%}")
print(f"error ratio (scratch / transfer): {error_ratio(error_B, error_B_on_A):.1f}")

# %%
claim(
    "both models of task B reach a test error below 5%",
    max(error_B, error_B_on_A) < 0.05,
    measured=[error_B, error_B_on_A],
)

# %% [markdown]
# One run, one ratio. It is the kind of number the book printed — and one run says little: a
# different seed (initial weights, shuffling) or a different draw of the 200 images gives another
# ratio. The fair question is what the *distribution* looks like.
#
# ## Caching the frozen layers
#
# While the reused layers are frozen, their output $\mathbf z = h(\mathbf x)$ for a training image
# never changes, yet every epoch computes it again: the model is $\hat y = g(h(\mathbf x))$ and
# only the top $g$ learns. The book's tip: compute it once and train the new top layers on the
# cached outputs. `split_model(model, k)` splits a model into a `base` (the first `k` layers) and
# a `top` that share the layers; `cached_features(base, x)` runs the base once. To see a speed-up
# the data set must be larger than 200 images: here 8,000 images of task B, from the same initial
# weights and in the same order (`fit_epochs` shuffles with NumPy from a seed; Keras' own
# shuffling would differ between the two models), in batches of 400. One epoch builds the training
# functions; then each model trains three times for 5 epochs, and we keep the fastest
# (computing the features once costs about one frozen epoch's forward pass).

# %%
# 8,000 labelled images of task B (task A is not needed here: n_train_a=1 keeps it tiny)
big_b = transfer_tasks(data, positive=6, negative=5, n_train_b=8_000, n_train_a=1).b
frozen = reuse_layers(model_A, freeze=True, seed=42, name="frozen")
cached = clone_with_weights(frozen)
base, top = split_model(cached, len(cached.layers) - 1)
print(
    f"base: {base.output_shape[1]} features per image; top: {top.count_params()} parameters"
)

# %% tags=["nbval-ignore-output"]
features = cached_features(base, big_b.train.x)
runs = {
    "frozen layers": (frozen, big_b.train),
    "cached features": (top, (features, big_b.train.y)),
}
for model, train in runs.values():
    model.compile(
        loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.01)
    )
    fit_epochs(
        model, train, epochs=1, batch_size=400, seed=0
    )  # builds the training function
cpu_seconds = {label: [] for label in runs}
for repeat in range(1, 4):  # interleaved, so that both see the same machine load
    for label, (model, train) in runs.items():
        start = time.process_time()
        fit_epochs(model, train, epochs=5, batch_size=400, seed=repeat)
        cpu_seconds[label].append((time.process_time() - start) / 5)
p_frozen = frozen.predict(big_b.test.x, verbose=0)
p_cached = cached.predict(big_b.test.x, verbose=0)
max_diff = float(np.max(np.abs(p_frozen - p_cached)))
per_epoch = {label: min(t) for label, t in cpu_seconds.items()}
speedup = per_epoch["frozen layers"] / per_epoch["cached features"]
print(f"largest difference between the two models' test predictions: {max_diff:.1e}")
print(
    f"CPU time per epoch: frozen layers {format_duration(per_epoch['frozen layers'])}, "
    f"cached features {format_duration(per_epoch['cached features'])}: "
    f"{format_ratio(speedup)} less"
)

# %%
claim(
    "the cached-features model predicts the same as the frozen one (within 1e-5)",
    max_diff < 1e-5,
    measured=max_diff,
)
claim(
    "training the top on cached features takes at least 1.5× less CPU time per epoch",
    speedup >= 1.5,
    measured=speedup,
)

# %% [markdown]
# The same model and the same predictions (the check allows for float32 rounding, since the
# base's outputs were computed in batches of another size), for less work per epoch: the frozen
# layers' forward pass is done once instead of once per epoch. We measure CPU time (all threads of
# the process), not wall time, because the machine may be busy with other work. The gain is
# modest here: between about 2× and 4× in the runs we made with AVX2 and SSE4.1 kernels on a
# busy machine, 4.2× in the run shown (the check asks for 1.5×), because our frozen layers are small: much of the cost
# of a step is Keras' fixed cost and moving the batch. Large batches (400 here) make the
# difference clearer. It grows with the frozen layers' share of the work,
# so it is largest for deep pretrained networks whose top alone is trained. The evaluation below
# uses the trick for the frozen phase of every run.
#
# ## The honest evaluation
#
# The figure of merit is the book's: the error ratio
# $r = \varepsilon_\text{scratch} / \varepsilon_\text{transfer}$, above 1 when transfer helped;
# the book's was $r = 2.8\% / 0.7\% = 4$.
#
# The same recipe (chosen before looking at the results: 20 epochs from scratch at 0.01; 4 frozen
# epochs at 0.01 then 16 fine-tuning epochs at 0.001 for transfer), repeated for 10 seeds. Each
# seed draws its own 200 training images and its own initial weights and shuffling; model A is
# trained once per pair of classes (it stands for "someone else's model"). Three pairs: the
# book's shirt vs sandal, an easy pair (trouser vs bag) and a hard one (T-shirt/top vs shirt,
# the most confused pair of Fashion-MNIST). `transfer_vs_scratch` builds and compiles each model
# once and re-initializes it for every seed, which is exact with plain SGD (no optimizer state)
# and several times cheaper than rebuilding.

# %% tags=["nbval-ignore-output"]
PAIRS = {
    "Shirt vs Sandal (book)": (6, 5),
    "Trouser vs Bag (easy)": (1, 8),
    "T-shirt/top vs Shirt (hard)": (6, 0),
}
seeds = range(profile.pick(book=10, full=30))
results = {}
for label, (positive, negative) in PAIRS.items():
    pair_a = (
        model_A
        if (positive, negative) == (6, 5)
        else train_model_a(
            transfer_tasks(
                data, positive=positive, negative=negative, n_train_a=n_train_a
            ).a
        )
    )

    def task_b(seed, positive=positive, negative=negative):
        b = transfer_tasks(
            data, positive=positive, negative=negative, n_train_a=1, seed=seed
        ).b
        return b.train, b.test

    results[label] = transfer_vs_scratch(pair_a, task_b, seeds=seeds)

summary = {}
for label, r in results.items():
    ratio = error_ratio(r.scratch, r.transfer)
    summary[label] = {
        "scratch error %": f"{100 * r.scratch.mean():.2f} ± {100 * r.scratch.std():.2f}",
        "transfer error %": f"{100 * r.transfer.mean():.2f} ± {100 * r.transfer.std():.2f}",
        "ratio mean ± std": f"{ratio.mean():.2f} ± {ratio.std():.2f}",
        "ratio min–max": f"{ratio.min():.2f}–{ratio.max():.2f}",
        "transfer wins": f"{int((r.transfer < r.scratch).sum())}/{len(r)}",
    }
pd.DataFrame(summary).T

# %%
book, easy, hard = (results[k] for k in PAIRS)
n = len(book)
wins = {label: int((r.transfer < r.scratch).sum()) for label, r in results.items()}
book_ratio = np.median(error_ratio(book.scratch, book.transfer))
claim(
    f"on the book's pair, transfer wins in at least {n * 6 // 10}/{n} seeds",
    wins["Shirt vs Sandal (book)"] >= n * 6 // 10,
    measured=wins,
)
claim(
    "on the book's pair, the median error ratio is above 1 but below the book's 4",
    1.0 < book_ratio < 4.0,
    measured=book_ratio,
)
claim(
    "our median scratch error on the book's pair is less than half the book's 2.8%",
    book.scratch.median() < 0.014,
    measured=book.scratch.median(),
)
claim(
    f"on the easy and on the hard pair, transfer wins in at most {n * 3 // 10}/{n} seeds",
    max(wins["Trouser vs Bag (easy)"], wins["T-shirt/top vs Shirt (hard)"]) <= n * 3 // 10,
    measured=wins,
)

# %% [markdown]
# The distributions, one panel per pair, one line per seed (scratch → transfer), with the book's
# figures on the first panel:

# %%
fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.6))
for ax, (label, r) in zip(axes, results.items()):
    for s, t in zip(r.scratch, r.transfer):
        ax.plot([0, 1], [100 * s, 100 * t], color="C0" if t < s else "C3", alpha=0.6, lw=1)
    ax.plot([0, 1], [100 * r.scratch.median(), 100 * r.transfer.median()], "k-", lw=2.5)
    ax.set_xticks([0, 1], ["scratch", "transfer"])
    ax.set_xlim(-0.3, 1.3)
    ax.set_title(label, fontsize=10)
    ax.set_ylabel("test error (%)")
axes[0].plot([0, 1], [2.8, 0.7], "o--", color="C2", label="the book: 2.8% → 0.7%")
axes[0].legend(loc="upper right", fontsize=8)
fig.suptitle("Task B test error over seeds (blue: transfer won, red: lost; black: medians)")
fig.tight_layout()
plt.show()

# %% [markdown]
# And the ratios themselves, seed by seed, on a log scale, against the book's factor of four:

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.4))
rng = np.random.default_rng(0)  # horizontal jitter only
for i, (label, r) in enumerate(results.items()):
    ratio = error_ratio(r.scratch, r.transfer)
    ax.scatter(i + rng.uniform(-0.12, 0.12, len(ratio)), ratio, color=f"C{i}", alpha=0.8)
    ax.hlines(np.median(ratio), i - 0.25, i + 0.25, color="k", lw=2)
ax.axhline(4.0, color="C2", ls="--", lw=1.2, label="the book: 2.8% / 0.7% = 4")
ax.axhline(1.0, color="gray", ls=":", lw=1.2, label="no effect (ratio 1)")
ax.set_yscale("log")
ax.set_xticks(range(len(results)), list(results), fontsize=9)
ax.set_ylabel("error ratio scratch / transfer (log)")
ax.set_title("Error ratio per seed (black: median); above 1, transfer helped")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# What the runs show (the table and figure are from the run shown; the claims above hold on every
# machine and instruction set we tried):
#
# - **On the book's pair transfer helps, mostly, and modestly.** It won in 8 of the 10 seeds of
#   the run shown, with a mean ratio below 2 and a spread from below 1 to above 3 (the claims ask
#   for at least 6 wins in 10 and a median ratio between 1 and 4). The book's 2.8% from scratch
#   is above every one of our scratch runs: our baseline, trained with a 10× larger learning rate
#   than the book's, is much stronger. The book's 0.7% with transfer sits at the top of our
#   transfer runs. The factor of four owed as much to a weak baseline as to transfer.
# - **On the easy pair transfer hurts**, in 9 seeds of 10: model A never saw trousers or bags,
#   its features are tuned to the eight other classes, and 16 epochs of fine-tuning at a low
#   learning rate do not undo that, while a network trained from scratch separates these two
#   classes easily.
# - **On the hard pair it hurts too**, by a few points: T-shirts and shirts differ in details that
#   task A's features (for which both were left out) did not need to separate.
#
# Executed with AVX2 and with SSE4.1 kernels, the table changed only in its last digits; the spread
# that matters is the one between seeds (on the book's pair, ratios from below 1 to above 3), and
# the claims leave room for it: at least 6 wins in 10 where 8 were measured, at most 3 in 10
# where 0 and 1 were.
#
# So transfer learning is not a free factor of four. It pays when task A's features are useful
# for task B, and the only way to know is to measure it with several seeds, as here.
#
# ## How many layers to reuse
#
# The book's advice: the output layer of the original model is replaced, its upper hidden layers
# are less likely to be useful than the lower ones (they are the most specific to task A), and
# the more similar the tasks, the more layers to reuse. Freeze the reused layers first, then try
# unfreezing the top one or two. `reuse_sweep` measures it on the book's pair: the lowest $k$
# hidden layers of model A ($k$ = 1, 2, 3) with a new output layer on top of layer $k$, trained
# on task B either **frozen** (only the output layer learns, all 20 epochs at 0.01) or
# **fine-tuned** with the recipe above (4 frozen epochs, then 16 with every layer trainable at
# 0.001). The seeds are the first 5 of the evaluation (same 200 images), so its scratch runs are
# the baseline.

# %% tags=["nbval-ignore-output"]
sweep_seeds = range(profile.pick(book=5, full=10))


def book_task_b(seed):
    b = transfer_tasks(data, positive=6, negative=5, n_train_a=1, seed=seed).b
    return b.train, b.test


sweep = reuse_sweep(model_A, book_task_b, seeds=sweep_seeds)
sweep_scratch = book.scratch.to_numpy()[: len(sweep_seeds)]
sweep_errors = sweep.pivot_table(index=["mode", "layers"], columns="seed", values="error")
print(
    f"task B from scratch (3 hidden layers): median test error "
    f"{100 * np.median(sweep_scratch):.2f}%"
)
pd.DataFrame(
    {
        "median error %": [f"{100 * np.median(e):.2f}" for e in sweep_errors.to_numpy()],
        "min–max %": [
            f"{100 * e.min():.2f}–{100 * e.max():.2f}" for e in sweep_errors.to_numpy()
        ],
        "beats scratch": [
            f"{int((e < sweep_scratch).sum())}/{len(e)}" for e in sweep_errors.to_numpy()
        ],
    },
    index=[f"{mode}, {k} layer{'s' * (k > 1)}" for mode, k in sweep_errors.index],
)

# %%
n_sweep = len(sweep_seeds)
err = {key: sweep_errors.loc[key].to_numpy() for key in sweep_errors.index}
wins_frozen_all = int((err["frozen", 3] < sweep_scratch).sum())
frozen_beats_fine_tuned = {
    k: int((err["frozen", k] < err["fine-tuned", k]).sum()) for k in (1, 2)
}
claim(
    f"reusing all 3 layers frozen beats scratch in at least {n_sweep - 1}/{n_sweep} seeds",
    wins_frozen_all >= n_sweep - 1,
    measured=wins_frozen_all,
)
claim(
    f"reusing 1 or 2 layers, frozen beats fine-tuned in at least {n_sweep - 1}/{n_sweep} "
    "seeds each",
    min(frozen_beats_fine_tuned.values()) >= n_sweep - 1,
    measured=frozen_beats_fine_tuned,
)

# %%
fig, ax = plt.subplots(figsize=(7.0, 3.6))
for i, (mode, color) in enumerate((("frozen", "C0"), ("fine-tuned", "C1"))):
    for k in (1, 2, 3):
        e = 100 * err[mode, k]
        x = k + (i - 0.5) * 0.18
        ax.scatter(np.full(len(e), x), e, color=color, alpha=0.6, s=18)
    medians = [100 * np.median(err[mode, k]) for k in (1, 2, 3)]
    ax.plot(np.array([1, 2, 3]) + (i - 0.5) * 0.18, medians, "-o", color=color, label=mode)
ax.axhline(
    100 * np.median(sweep_scratch), color="gray", ls="--", lw=1.2, label="scratch (median)"
)
ax.set_xticks([1, 2, 3], ["1 (lowest)", "2", "3 (all)"])
ax.set_xlabel("hidden layers of model A reused")
ax.set_ylabel("task B test error (%)")
ax.set_title("Shirt vs sandal: error per seed (dots) and median (line)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# In the run shown, reusing all three layers was best, frozen (median error about 0.4%) or
# fine-tuned with the recipe (about the same): both beat scratch in every seed. Reusing fewer
# layers was worse, and fine-tuning them worse still: with one or two reused layers the
# fine-tuned models lost to the frozen ones in every seed, and mostly lost to scratch too. So for
# these close tasks the book's advice holds (reuse the most, freeze first), and the recipe
# chosen for three layers does not carry over to one or two: with fewer reused layers the new
# output layer sits on more general features and has more to learn, but after 4 epochs the
# recipe trains it at a 10× lower learning rate (a likely reason; exercise 3 lets you test it).
# The claims check what held in every run we made (5 and 10 seeds; AVX-512, AVX2 and SSE4.1
# kernels): all three layers frozen beat scratch in at least 4 of 5 seeds (5 of 5 measured),
# and with one or two layers, frozen beat fine-tuned in at least 4 of 5 seeds (5 of 5). Which
# is better between one and two frozen layers, or between frozen and fine-tuned with all
# three, changed from seed to seed: no claim.
#
# ## Pretraining without labels
#
# Often there is no model A: nobody trained a network on a similar task. Unlabelled images, on
# the other hand, are cheap. The book's answer is *unsupervised pretraining*: train a model that
# needs no labels on all the images, reuse its lower layers, and train the classifier on the few
# labelled ones. Historically this is how deep networks first became trainable: greedy layer-wise
# pretraining (Hinton et al., 2006) trained one layer at a time without labels, each a restricted
# Boltzmann machine (RBM) fed with the outputs of the frozen layers below, then fine-tuned the
# stack with labels. Today the book points to autoencoders (or GANs) for the unsupervised part,
# and to *self-supervised* learning: an auxiliary task whose labels are made from the data itself
# (the way large language models are pretrained, by predicting missing words).
#
# Why could it help? With 50 labels, every weight of a network trained from scratch is fixed by
# 50 examples. A network pretrained on thousands of unlabelled images already encodes what those
# images have in common (strokes, silhouettes, textures); the labels then only have to say which
# of these features tell the classes apart: fewer parameters to learn from the labels (a frozen
# encoder) or a better starting point (a fine-tuned one). It helps only if the features that the
# pretraining task needs are also those that the real task needs.
#
# Two pretraining tasks, both on the same 2-hidden-layer stack (784-100-50, ReLU):
#
# - an **autoencoder**: the encoder $f$ (the stack) and a mirror-image decoder $g$ (50-100-784,
#   sigmoid output) trained with Adam to reproduce their input, minimizing the reconstruction error
#   over the $n$ unlabelled images of $m = 784$ pixels
#   $$\mathcal L(\boldsymbol\theta) = \frac{1}{n}\sum_{i=1}^{n} \frac{1}{m}
#   \big\lVert \mathbf x^{(i)} - g\big(f(\mathbf x^{(i)})\big)\big\rVert^2 .$$
#   The 50-unit bottleneck forces $f$ to keep what matters most for redrawing the image;
# - a **rotation** task (Gidaris et al., 2018): each image is turned by $k \cdot 90°$,
#   $k \in \{0, 1, 2, 3\}$ drawn at random, and the stack with a 4-way softmax on top learns to
#   predict $k$ (cross-entropy). To know which way up a garment is, the network must recognize
#   its shape; no human label is involved.
#
# Both are trained on 10,000 training images with their labels dropped, 5 epochs, once per seed
# (`tdnn.pretraining.pretrain_autoencoder`, `pretrain_rotation`; `TDNN_PROFILE=full`: 55,000
# images, 10 epochs). Then the real task, all ten classes, with 50, 200 or 1,000 labelled
# training images (5, 20 or 100 per class, drawn with the seed; every method sees the same
# draw), and five ways to use them:
#
# - **scratch**: the same stack with a softmax output, every weight initialized at random;
# - **fine-tuned**: the pretrained stack plus a new output layer, every layer trained (for the
#   autoencoder and for the rotation network);
# - **linear probe**: the pretrained stack frozen and only the output layer trained, on its cached
#   50 outputs (standardized with the unlabelled images' mean and standard deviation). Training
#   only a softmax layer is a convex problem: `tdnn.pretraining.linear_probe` solves it by
#   full-batch gradient descent (softmax regression with a small $\ell_2$ penalty, in NumPy).
#
# Scratch and fine-tuned models train with plain SGD at 0.05, batches of 25, for at least 320
# updates (`tdnn.transfer.compare_on_budgets`). The test accuracy is on the 10,000 test images.
# Pretraining is the costly part, so this experiment uses 3 seeds (10 with `TDNN_PROFILE=full`):
# enough to see where the spread between seeds swamps a gain, not to rank close methods.

# %% tags=["nbval-ignore-output"]
ENCODER = (100, 50)
BUDGETS = (50, 200, 1000)
n_unlabelled = profile.pick(book=10_000, full=55_000)
pretrain_epochs = profile.pick(book=5, full=10)
pretrain_seeds = range(profile.pick(book=3, full=10))
x_unlabelled = data.train.x[:n_unlabelled]  # the training images, without their labels
x_rotated, k_rotated = rotation_task(data.test.x, seed=0)
runs, sanity = [], []
for seed in pretrain_seeds:
    autoencoder, ae_encoder = pretrain_autoencoder(
        x_unlabelled, ENCODER, epochs=pretrain_epochs, seed=seed
    )
    rotation_net, rot_encoder = pretrain_rotation(
        x_unlabelled, ENCODER, epochs=pretrain_epochs, seed=seed
    )
    sanity.append(
        {
            "reconstruction MSE": autoencoder.evaluate(
                data.test.x, data.test.x, batch_size=1024, verbose=0
            ),
            "rotation accuracy": rotation_net.evaluate(
                x_rotated, k_rotated, batch_size=1024, verbose=0
            )[1],
        }
    )
    encoders = {"autoencoder": ae_encoder, "rotation": rot_encoder}
    classifiers = {"scratch": (build_mlp(ENCODER, n_outputs=10, seed=seed), None)}
    for name, encoder in encoders.items():
        classifiers[f"{name}, fine-tuned"] = (classifier_on(encoder, 10), 1)
    runs.append(
        compare_on_budgets(
            classifiers,
            data.train,
            data.test,
            budgets=BUDGETS,
            seeds=[seed],
            balanced=True,
        )
    )
    features = {}
    for name, encoder in encoders.items():
        reference = cached_features(encoder, x_unlabelled)
        features[f"{name}, linear probe"] = tuple(
            standardize(cached_features(encoder, x), reference)
            for x in (data.train.x, data.test.x)
        )
    runs.append(
        probe_on_budgets(
            features, data.train.y, data.test.y, budgets=BUDGETS, seeds=[seed]
        )
    )
pretraining = pd.concat(runs, ignore_index=True)
sanity = pd.DataFrame(sanity)
print(f"pretrained on {n_unlabelled:,} unlabelled images, {len(sanity)} seeds:")
print(
    f"autoencoder: test reconstruction MSE {sanity['reconstruction MSE'].mean():.4f} "
    "(mean over seeds)"
)
print(
    "rotation network: quarter turn of test images predicted with accuracy "
    f"{sanity['rotation accuracy'].min():.2f}–{sanity['rotation accuracy'].max():.2f}"
)
acc = pretraining.pivot_table(
    index=["model", "seed"], columns="labels", values="accuracy"
)
scratch_acc = acc.loc["scratch"]
METHODS = [
    "scratch",
    "autoencoder, fine-tuned",
    "autoencoder, linear probe",
    "rotation, fine-tuned",
    "rotation, linear probe",
]
table = {}
for method in METHODS:
    a = acc.loc[method]
    row = {f"{n:,} labels": f"{a[n].mean():.3f} ± {a[n].std(ddof=0):.3f}" for n in BUDGETS}
    if method != "scratch":
        row |= {
            f"wins {n:,}": f"{int((a[n] > scratch_acc[n]).sum())}/{len(a)}"
            for n in BUDGETS
        }
    table[method] = row
pd.DataFrame(table).T.fillna("")

# %%
n_pt = len(pretrain_seeds)
gain = {m: acc.loc[m] - scratch_acc for m in METHODS[1:]}  # accuracy minus scratch, per seed
mean_gain = pd.DataFrame({m: g.mean() for m, g in gain.items()}).T
wins = pd.DataFrame({m: (g > 0).sum() for m, g in gain.items()}).T
claim(
    f"the rotation network finds the quarter turn of >= 85% of test images ({n_pt}/{n_pt} "
    "seeds)",
    sanity["rotation accuracy"].min() >= 0.85,
    measured=sanity["rotation accuracy"].min(),
)
claim(
    f"at 200 labels, the autoencoder's linear probe beats scratch in >= {n_pt - 1}/{n_pt} "
    "seeds",
    wins.loc["autoencoder, linear probe", 200] >= n_pt - 1,
    measured=wins.loc["autoencoder, linear probe"].to_dict(),
)
claim(
    f"at 200 labels, the fine-tuned autoencoder beats scratch in >= {(n_pt + 1) // 2}/{n_pt} "
    "seeds",
    wins.loc["autoencoder, fine-tuned", 200] >= (n_pt + 1) // 2,
    measured=wins.loc["autoencoder, fine-tuned"].to_dict(),
)
claim(
    "at 50 labels, no pretrained classifier beats scratch by more than 0.02 on average",
    mean_gain[50].max() <= 0.02,
    measured=mean_gain[50].to_dict(),
)
claim(
    f"rotation's linear probe loses to scratch at 50 and 200 labels in >= {n_pt - 1}/{n_pt} "
    "seeds each",
    n_pt - wins.loc["rotation, linear probe", [50, 200]].max() >= n_pt - 1,
    measured=wins.loc["rotation, linear probe"].to_dict(),
)
claim(
    "at 1,000 labels, every method is within 0.05 of scratch on average",
    mean_gain[1000].abs().max() <= 0.05,
    measured=mean_gain[1000].to_dict(),
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
for i, method in enumerate(METHODS):
    a = acc.loc[method]
    style = "-o" if i == 0 else ("--s" if "probe" in method else "-^")
    axes[0].errorbar(
        BUDGETS,
        a.mean(),
        yerr=a.std(ddof=0),
        fmt=style,
        color=f"C{i}",
        capsize=3,
        label=method,
        lw=2.5 if i == 0 else 1.2,
    )
    if i:
        for j, n in enumerate(BUDGETS):
            x = j + (i - 2.5) * 0.15
            axes[1].scatter(np.full(n_pt, x), gain[method][n], color=f"C{i}", s=14, alpha=0.7)
axes[0].set_xscale("log")
axes[0].set_xticks(BUDGETS, [f"{n:,}" for n in BUDGETS])
axes[0].set_xlabel("labelled training images (log scale)")
axes[0].set_ylabel("test accuracy (mean ± std)")
axes[0].set_title("Ten classes from few labels")
axes[0].legend(fontsize=7.5, loc="lower right")
axes[1].axhline(0, color="gray", lw=1)
axes[1].set_xticks(range(len(BUDGETS)), [f"{n:,}" for n in BUDGETS])
axes[1].set_xlabel("labelled training images")
axes[1].set_ylabel("accuracy − scratch's (same seed)")
axes[1].set_title("Gain over scratch, one dot per seed")
fig.tight_layout()
plt.show()

# %% [markdown]
# What the runs show (the table and figure are from the run shown; the claims held in every run
# we made: these 3 seeds, and 5 seeds with 10,000 or 20,000 unlabelled images; AVX-512, AVX2 and
# SSE4.1 kernels):
#
# - **The pretraining tasks were learnt**: the rotation network tells the quarter turn of about
#   nine test images in ten (chance: one in four), and the autoencoder redraws test images with a
#   small error. The features exist; the question is whether they help the real task.
# - **At 200 labels, the autoencoder helped, a little.** Its linear probe and the fine-tuned
#   network both beat scratch in every seed of the run shown, by about one to two points of
#   accuracy on average: about the spread between seeds. In our 5-seed runs the probe again won
#   in every seed, the fine-tuned network in 5 of 5 and 3 of 5; the claims ask for at least 2
#   of 3 each.
# - **At 50 labels, pretraining did not help**: the fine-tuned autoencoder was level with scratch
#   on average (it won in two seeds of three and lost in the third), the other methods were
#   behind, and none was ahead on average (the claim allows 0.02). With 5 images per class,
#   which images were labelled matters as much as any pretraining.
# - **At 1,000 labels, pretraining stopped mattering**: every method was within about three
#   points of scratch on average (the claim allows 0.05): the fine-tuned rotation network a
#   little ahead, the linear probes a little behind. 1,000 labels are enough to learn these
#   small layers from scratch.
# - **The rotation features made a poor frozen representation**: their linear probe lost to
#   scratch at every budget in every seed of the run shown. Knowing which way up a garment is
#   does not require knowing whether it is a shirt or a pullover; fine-tuning repaired it partly.
#
# So here pretraining without labels was worth a point or two in a middle range of labels, and
# nothing at either end. That is the honest picture for small MLPs on Fashion-MNIST, whose images
# are simple enough that 1,000 labels go a long way, while with 50 the luck of the draw
# outweighs what the pretrained features add; the large
# gains of self-supervised pretraining come from large networks pretrained on millions of images
# with a task rich enough to need the real task's features. Exercise 4 tries the usual ways of
# giving pretraining a better chance.
#
# ## Weights from another framework
#
# Pretrained weights often come from elsewhere (PyTorch, JAX, a NumPy file). Keras takes them as
# plain arrays: `layer.set_weights([kernel, bias])`. The trap is the layout: a PyTorch
# `nn.Linear(784, 100)` stores its weight as `(100, 784)` (out, in); a Keras `Dense` kernel is
# `(784, 100)` (in, out). We play PyTorch's part by exporting model A in its layout, then copy it
# into a fresh Keras model with `set_layer_weights`, which checks every shape first:

# %%
state_dict = {}  # what torch's model.state_dict() would hold, as NumPy arrays
for i, layer in enumerate(l for l in model_A.layers if isinstance(l, keras.layers.Dense)):
    kernel, bias = layer.get_weights()
    state_dict[f"fc{i + 1}.weight"], state_dict[f"fc{i + 1}.bias"] = kernel.T, bias
for name, value in state_dict.items():
    print(f"{name:11s} {value.shape}")

imported = build_mlp(HIDDEN, n_outputs=8, seed=0, name="imported")
dense = [l for l in imported.layers if isinstance(l, keras.layers.Dense)]
for i, layer in enumerate(dense):
    set_layer_weights(
        layer, [state_dict[f"fc{i + 1}.weight"].T, state_dict[f"fc{i + 1}.bias"]]
    )
x_check = tasks.a.test.x[:500]
print(
    "same predictions as model A:",
    np.allclose(imported.predict(x_check, verbose=0), model_A.predict(x_check, verbose=0)),
)

# %% [markdown]
# Forgetting the transpose is caught, with the layer, the weight and both shapes named:

# %%
try:
    set_layer_weights(dense[0], [state_dict["fc1.weight"], state_dict["fc1.bias"]])
except ValueError as error:
    print(textwrap.fill(f"ValueError: {error}", width=88))

# %% [markdown]
# ## Exercises
#
# 1. The book's claim in test images: its task B test set has 2,000 images. How many errors are
#    2.8% and 0.7%? With errors that rare, how many test errors apart are two runs whose error
#    rates differ by 0.1 percentage point? (Check: the cell below.)
# 2. Re-run the honest evaluation without lowering the learning rate for fine-tuning
#    (`fine_tune_learning_rate=0.01`). Does the verdict change for any pair? What does that say
#    about reporting one recipe?
# 3. Reuse only the lowest one or two hidden layers of model A (`reuse_layers(model_A, 1)`) for
#    the easy pair. Does transfer stop hurting? On the book's pair, repeat the layers sweep with
#    `reuse_sweep(..., fine_tune_learning_rate=0.01)`: do one or two fine-tuned layers still lose
#    to frozen ones?
# 4. Give pretraining a better chance than above: a denoising autoencoder
#    (`pretrain_autoencoder(..., noise=0.3)`), all 55,000 unlabelled images and 10 epochs
#    (what `TDNN_PROFILE=full` runs), or a linear probe on the first hidden layer's 100 outputs
#    instead of the stack's 50. Does any of them change the verdict at 50 labels? At 1,000?

# %%
n_test_b = len(tasks.b.test.y)
book_errors = round(0.028 * n_test_b), round(0.007 * n_test_b)
print(
    f"{n_test_b} test images: 2.8% = {book_errors[0]} errors, 0.7% = {book_errors[1]} errors;"
)
print(f"0.1 percentage point = {0.001 * n_test_b:.0f} test images")
assert book_errors == (56, 14)
