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
# # 7. Faster optimizers
#
# > **In short.** Each optimizer of the chapter (momentum, Nesterov, AdaGrad, RMSProp, Adam, AdaMax,
# > Nadam, AdamW) is a few lines of NumPy that match Keras step for step, and the page shows where
# > Keras departs from the book's equations. On a noisy test problem, AdaGrad stalls because its
# > learning rate only decays. Trained on Fashion-MNIST over several seeds, plain SGD ends last or
# > second to last, momentum beats it and Adam beats AdaGrad, while the five best optimizers cannot
# > be ranked. For a sparse model, pruning an ordinarily trained one removes few weights; ℓ1
# > training or FTRL gives many more exact zeros.
#
# Plain gradient descent takes a step of $\eta\,\nabla_\theta J(\theta)$ and forgets it. The
# chapter's faster optimizers remember: momentum accumulates past gradients, AdaGrad, RMSProp and
# Adam rescale each coordinate by the size of its past gradients. In this notebook you will see:
#
# 1. every update rule of the chapter written in NumPy (`tdnn.optimizers`), its equation next to
#    its code, and checked against the Keras 3 optimizer step for step;
# 2. where Keras computes something else than the book's equation (Nesterov's reformulation,
#    where Adam's $\varepsilon$ sits, Nadam's momentum schedule), and how much it matters;
# 3. momentum's terminal velocity $1/(1-\beta)$, in numbers;
# 4. the paths of all nine optimizers on an elongated bowl and on Rosenbrock's valley;
# 5. AdaGrad slowing to a crawl on a noisy, neural-network-like problem;
# 6. the same Fashion-MNIST model trained by each Keras optimizer, over several seeds;
# 7. three ways to get a sparse model, with the fraction of weights that end up exactly zero.
#
# Sections 1–5 are NumPy float64 reference math: their outputs are **exact**, identical on every
# machine. Sections 6–7 train float32 TensorFlow models: their outputs are **measured** (they
# change in the last digits from one CPU to another), so each lesson drawn from them is checked in
# code by a `claim` that prints a ✓ line.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

# %%
import inspect
import textwrap

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tdnn.claims import claim
from tdnn.data import load_fashion_mnist, subset
from tdnn.models import build_mlp, dense_layers
from tdnn.optimizers import (
    OPTIMIZERS,
    AdaGrad,
    Adam,
    Momentum,
    Nadam,
    Nesterov,
    RMSProp,
    keras_equivalent,
    keras_trajectory,
    minimize,
    nesterov_book_step,
    noisy_least_squares,
    numpy_trajectory,
    quadratic_bowl,
    rosenbrock,
)
from tdnn.plotting import plot_learning_curves
from tdnn.training import fit, format_duration

pd.set_option("display.float_format", "{:.4g}".format)

# %% [markdown]
# ## 1. The update rules, next to their code
#
# With $\mathbf g = \nabla_\theta J(\theta)$, $\otimes$ and $\oslash$ the element-wise product and
# division, and $t$ the step counter (1 at the first step), the chapter's equations (3rd
# edition numbering) are:
#
# $$\begin{aligned}
# &\textbf{Momentum (Eq. 11-5)} && \mathbf m \leftarrow \beta\mathbf m - \eta\,\mathbf g, \quad
#   \theta \leftarrow \theta + \mathbf m\\
# &\textbf{Nesterov (Eq. 11-6)} && \mathbf m \leftarrow \beta\mathbf m
#   - \eta\,\nabla_\theta J(\theta + \beta\mathbf m), \quad \theta \leftarrow \theta + \mathbf m\\
# &\textbf{AdaGrad (Eq. 11-7)} && \mathbf s \leftarrow \mathbf s + \mathbf g\otimes\mathbf g,
#   \quad \theta \leftarrow \theta - \eta\,\mathbf g\oslash\sqrt{\mathbf s + \varepsilon}\\
# &\textbf{RMSProp (Eq. 11-8)} && \mathbf s \leftarrow \rho\mathbf s
#   + (1-\rho)\,\mathbf g\otimes\mathbf g, \quad
#   \theta \leftarrow \theta - \eta\,\mathbf g\oslash\sqrt{\mathbf s + \varepsilon}\\
# &\textbf{Adam (Eq. 11-9)} && \mathbf m \leftarrow \beta_1\mathbf m - (1-\beta_1)\,\mathbf g,
#   \quad \mathbf s \leftarrow \beta_2\mathbf s + (1-\beta_2)\,\mathbf g\otimes\mathbf g,\\
# & && \hat{\mathbf m} = \frac{\mathbf m}{1-\beta_1^t}, \quad
#   \hat{\mathbf s} = \frac{\mathbf s}{1-\beta_2^t}, \quad
#   \theta \leftarrow \theta + \eta\,\hat{\mathbf m}\oslash\sqrt{\hat{\mathbf s} + \varepsilon}
# \end{aligned}$$
#
# The book describes three more in words. **AdaMax** replaces Adam's $\ell_2$ norm $\mathbf s$ by
# an $\ell_\infty$ norm, $\mathbf s \leftarrow \max(\beta_2\mathbf s, |\mathbf g|)$, and drops its
# bias correction. **Nadam** is Adam plus the Nesterov trick (Dozat, 2016). **AdamW** is Adam
# with *decoupled* weight decay: each step also multiplies the weights by $1 - \eta\lambda$
# (Loshchilov & Hutter, 2019).
#
# Each class in `tdnn.optimizers` keeps its state ($\mathbf m$, $\mathbf s$, $t$) and has a
# `step(theta, grad)` method. Its `_update` is the rule, written the way **Keras 3** computes it
# (`keras/src/optimizers/*.py`), so that the two can be compared digit for digit. Here is the
# code of every rule (docstrings left out):


# %%
def rule_source(cls) -> str:
    """The body of cls._update, without its signature and docstring."""
    lines = textwrap.dedent(inspect.getsource(cls._update)).splitlines()
    return "\n".join(line for line in lines[1:] if line.strip())


for name, cls in OPTIMIZERS.items():
    if "_update" in vars(cls):
        base = cls.__base__.__name__
        print(f"# {name}" + ("" if base == "Optimizer" else f" ({base} state)"))
        print(rule_source(cls))

# %% [markdown]
# The code follows the equations with three differences of form: Adam's moment $\mathbf m$ is
# kept with the opposite sign (the update subtracts it); Nesterov and Adam use Keras'
# reformulations, and Nadam Keras' momentum schedule (section 2). `Momentum` and `Nesterov`
# share their state; `AdaMax`, `Nadam` and `AdamW` reuse Adam's.
#
# ### Checked against Keras, step for step
#
# Three parameter tensors of random shapes, with gradients of very different scales (×1, ×0.001,
# ×30), 25 steps; the same random gradients go to `tdnn.optimizers` (float64) and to the Keras
# optimizer (`apply_gradients` on float32 variables), each with Keras' default hyperparameters
# and $\eta = 0.01$. The deviation is the largest difference over the whole trajectory, relative
# to the largest parameter of the tensor. Keras' float32 arithmetic is the only source of
# difference, so this output is measured.

# %% tags=["nbval-ignore-output"]
rng = np.random.default_rng(0)
shapes = [(3,), (4, 5), (2, 3, 4)]
thetas = [rng.standard_normal(s).astype(np.float32).astype(np.float64) for s in shapes]
grads = [
    [
        (rng.standard_normal(s) * c).astype(np.float32).astype(np.float64)
        for s, c in zip(shapes, [1, 1e-3, 30])
    ]
    for _ in range(25)
]


def max_deviation(reference, other):
    return max(
        float(np.max(np.abs(r - o)) / np.max(np.abs(r))) for r, o in zip(reference, other)
    )


deviation = {}
for name, cls in OPTIMIZERS.items():
    make = lambda cls=cls: cls(learning_rate=0.01)  # noqa: E731
    reference = numpy_trajectory(make, thetas, grads)
    deviation[name] = max_deviation(
        reference, keras_trajectory(keras_equivalent(make()), thetas, grads)
    )
print("max deviation from Keras over 25 steps (relative to the tensor's scale):")
print(pd.Series(deviation).map("{:.1e}".format).to_string())

# %%
claim(
    "all nine NumPy optimizers match Keras' float32 ones within 1e-5 over 25 steps",
    max(deviation.values()) < 1e-5,
    measured=deviation,
)

# %% [markdown]
# The deviations are float32 rounding (about $10^{-7}$ of the parameter scale here). The unit
# tests (`tests/test_optimizers.py`) repeat this for three random sets of shapes, and once more in
# float64 with hyperparameters that are exact in float32 (so that Keras computes with the same
# numbers): there every rule agrees with Keras to $10^{-12}$ or better (Nadam: $10^{-7}$, because
# Keras keeps its momentum product in a float32 variable). The formulas are the same, not merely
# close.
#
# ## 2. Where Keras differs from the book
#
# ### Nesterov: the look-ahead point is stored
#
# Eq. 11-6 needs the gradient at $\theta + \beta\mathbf m$, a point the optimizer never stores.
# Keras (like Sutskever et al., 2013) stores the look-ahead point itself,
# $\theta' = \theta + \beta\mathbf m$, and takes the gradient there. Substituting gives
# $\mathbf m \leftarrow \beta\mathbf m - \eta\nabla J(\theta')$,
# $\theta' \leftarrow \theta' + \beta\mathbf m - \eta\nabla J(\theta')$: the `Nesterov._update`
# above. The two forms visit different points but compute the same gradients; the difference is
# exactly $\beta\mathbf m$. On the elongated bowl of section 4, 100 steps:

# %%
bowl = quadratic_bowl((1.0, 25.0))  # f = ½(θ1² + 25 θ2²): 25 times steeper along θ2
start = np.array([-4.0, 1.0])
lr, beta = 0.03, 0.9
book_theta, m = start.copy(), np.zeros(2)
keras_form = Nesterov(learning_rate=lr, momentum=beta)
keras_theta = start.copy()
gap, shift_error = [], []
for _ in range(100):
    book_theta, m = nesterov_book_step(book_theta, m, lambda p: bowl(p)[1], lr, beta)
    keras_theta = keras_form.step(keras_theta, bowl(keras_theta)[1])
    gap.append(np.max(np.abs(keras_theta - book_theta)))
    shift_error.append(np.max(np.abs(keras_theta - (book_theta + beta * m))))
print(f"largest |θ_keras − θ_book| over 100 steps:       {max(gap):.4f}")
print(f"largest |θ_keras − (θ_book + β m)| over 100 steps: {max(shift_error):.1e}")
book_loss, keras_loss = bowl(book_theta)[0], bowl(keras_theta)[0]
print(f"after 100 steps: loss {book_loss:.3e} (book), {keras_loss:.3e} (Keras)")

# %% [markdown]
# The stored parameters differ by up to 0.675 early on (when $\mathbf m$ is large), and by
# exactly $\beta\mathbf m$ up to rounding. Both converge; at the end of training the difference
# is as small as the last steps.
#
# ### Adam: where $\varepsilon$ sits
#
# Keras computes $\theta \leftarrow \theta - \alpha_t\,\mathbf m\oslash(\sqrt{\mathbf s} +
# \varepsilon)$ with $\alpha_t = \eta\sqrt{1-\beta_2^t}/(1-\beta_1^t)$ (the "efficient version"
# of Kingma & Ba's Algorithm 1). Written with the bias-corrected moments that is
# $\eta\,\hat{\mathbf m}\oslash(\sqrt{\hat{\mathbf s}} + \varepsilon/\sqrt{1-\beta_2^t})$:
# $\varepsilon$ is outside the square root, and divided by the bias correction. Eq. 11-9 puts it
# inside: $\sqrt{\hat{\mathbf s}+\varepsilon}$. Same default $\varepsilon = 10^{-7}$, but
# $\sqrt{10^{-7}} \approx 3\times10^{-4}$ acts as a floor on the gradient scale in the book's form,
# while Keras' floor at the first step is $10^{-7}/\sqrt{0.001} \approx 3\times10^{-6}$ and shrinks
# towards $10^{-7}$. The first step, in units of $\eta$ (it would be exactly 1 without
# $\varepsilon$), for gradients of several sizes:

# %%
g = np.array([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1.0])
first = pd.DataFrame(
    {
        "|g|": g,
        "Keras (ε outside √)": -Adam(learning_rate=1.0).step(np.zeros(6), g),
        "book Eq. 11-9 (ε inside √)": -Adam(learning_rate=1.0, epsilon_inside=True).step(
            np.zeros(6), g
        ),
    }
).set_index("|g|")
first.round(4)

# %% [markdown]
# For gradients of about $10^{-2}$ and more the two agree to within 0.1 %; at $10^{-4}$ the
# book's form takes a step three times shorter, and at $10^{-6}$ it barely moves. Over a whole run
# on the bowl (gradients of order 1 to 100) the difference stays small:

# %%
paths = {}
for label, inside in [("Keras", False), ("book", True)]:
    paths[label], _ = minimize(
        Adam(learning_rate=0.3, epsilon_inside=inside), bowl, start, 100
    )
adam_gap = np.max(np.abs(paths["Keras"] - paths["book"]))
print(f"largest |θ_keras − θ_book| over 100 Adam steps: {adam_gap:.1e}")

# %% [markdown]
# ### Nadam: a momentum schedule
#
# Keras' Nadam follows Dozat's paper rather than "Adam with Nesterov momentum": its momentum at
# step $t$ is $\mu_t = \beta_1\,(1 - \tfrac12\,0.96^{t})$, warming up from $\beta_1/2$ to
# $\beta_1$, and the bias correction uses the running product $\prod_i \mu_i$. Dozat's paper
# writes $0.96^{t/250}$, a warm-up 250 times slower; Keras 3 uses $0.96^{t}$. `tdnn`'s `Nadam`
# offers the three forms (`momentum_schedule="keras"`, `"paper"`, `"constant"`):

# %%
steps_shown = [1, 10, 50, 100, 1000, 10000]
schedules = {s: Nadam(momentum_schedule=s) for s in ("keras", "paper", "constant")}
pd.DataFrame(
    {f"μ_t ({s})": [opt.mu(t) for t in steps_shown] for s, opt in schedules.items()},
    index=pd.Index(steps_shown, name="t"),
).round(4)

# %%
nadam_paths = {
    s: minimize(Nadam(learning_rate=0.3, momentum_schedule=s), bowl, start, 100)
    for s in schedules
}
for s in ("paper", "constant"):
    diff = np.max(np.abs(nadam_paths["keras"][0] - nadam_paths[s][0]))
    print(f"largest |θ_keras − θ_{s}| over 100 Nadam steps on the bowl: {diff:.3f}")

# %% [markdown]
# With Keras' fast warm-up the momentum is $\beta_1$ within about 100 steps, so Keras' Nadam is
# "Adam with Nesterov momentum" after that; the paper's slow warm-up keeps the momentum near
# $\beta_1/2$ for thousands of steps, and the path differs visibly from the start.
#
# ## 3. Terminal velocity
#
# With a constant gradient $\mathbf g$, Eq. 11-5 gives $\mathbf m_t = -\eta\mathbf g\,(1 + \beta
# + \dots + \beta^{t-1}) = -\eta\mathbf g\,\frac{1-\beta^t}{1-\beta}$: the step tends to
# $\eta\mathbf g/(1-\beta)$, the book's "terminal velocity", 10 times the plain step for
# $\beta = 0.9$. The step length in units of $\eta\lVert\mathbf g\rVert$, from the optimizer
# itself:

# %%
rows = {}
for b in (0.5, 0.9, 0.99):
    opt, theta = Momentum(learning_rate=1.0, momentum=b), np.zeros(1)
    lengths = []
    for t in range(1, 1001):
        new = opt.step(theta, [1.0])
        lengths.append(abs(new[0] - theta[0]))
        theta = new
    rows[f"β = {b}"] = {f"t = {t}": lengths[t - 1] for t in (1, 10, 100, 1000)} | {
        "1/(1−β)": 1 / (1 - b)
    }
pd.DataFrame.from_dict(rows, orient="index").round(3)

# %% [markdown]
# With $\beta = 0.99$ it takes hundreds of steps to reach the terminal velocity of 100 (63 % of
# it after 100 steps, $1 - 0.99^{100}$), which is one reason why $\beta = 0.9$ is the usual
# default.
#
# ## 4. The paths of all nine optimizers
#
# One starting point, one step budget, and for each optimizer a learning rate that suits its
# scale: the SGD family moves by $\eta\lVert\mathbf g\rVert$ and must keep $\eta < 2/25$ on the
# bowl, the adaptive methods move by about $\eta$ per coordinate whatever the gradient. The
# Adam family uses the same $\eta$ throughout.


# %%
def make_optimizers(lr_sgd, lr_adagrad, lr_rmsprop, lr_adam):
    return {
        "SGD": OPTIMIZERS["SGD"](lr_sgd),
        "Momentum": Momentum(lr_sgd, 0.9),
        "Nesterov": Nesterov(lr_sgd, 0.9),
        "AdaGrad": AdaGrad(lr_adagrad),
        "RMSProp": RMSProp(lr_rmsprop),
        "Adam": Adam(lr_adam),
        "AdaMax": OPTIMIZERS["AdaMax"](lr_adam),
        "Nadam": Nadam(lr_adam),
        "AdamW": OPTIMIZERS["AdamW"](lr_adam, weight_decay=0.004),
    }


def plot_paths(loss_and_grad, optimizers, start, steps, xlim, ylim, minimum, title, levels):
    """Contours of the loss and each optimizer's path on it; return the final losses."""
    xs, ys = np.linspace(*xlim, 300), np.linspace(*ylim, 300)
    z = np.array([[loss_and_grad(np.array([x, y]))[0] for x in xs] for y in ys])
    fig, ax = plt.subplots(figsize=(9.0, 5.2))
    ax.contour(xs, ys, z, levels=levels, colors="0.75", linewidths=0.7)
    final = {}
    for i, (name, opt) in enumerate(optimizers.items()):
        path, losses = minimize(opt, loss_and_grad, start, steps)
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", lw=1.3, label=name, alpha=0.9)
        final[name] = {
            "final loss": losses[-1],
            "distance to minimum": np.linalg.norm(path[-1] - minimum),
        }
    ax.plot(*start, "ko", ms=5)
    ax.plot(*minimum, "k*", ms=12)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.set_title(title)
    ax.legend(ncols=1, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    plt.show()
    return pd.DataFrame.from_dict(final, orient="index")


bowl_table = plot_paths(
    bowl,
    make_optimizers(lr_sgd=0.03, lr_adagrad=0.6, lr_rmsprop=0.1, lr_adam=0.3),
    start,
    100,
    xlim=(-4.5, 1.5),
    ylim=(-1.5, 1.5),
    minimum=np.zeros(2),
    title="Elongated bowl ½(θ₁² + 25 θ₂²), 100 steps from (−4, 1)",
    levels=np.geomspace(0.01, 40, 12),
)
bowl_table

# %% [markdown]
# What the picture shows: plain SGD crawls along the flat direction $\theta_1$ (its step there is
# 25 times smaller than across the valley) and is still far from the minimum after 100 steps.
# Momentum and Nesterov build up speed along the valley and overshoot, Nesterov less. The adaptive
# methods rescale each coordinate, so they head almost straight for the minimum at first
# (diagonally: every coordinate moves by about $\eta$) instead of following the steepest slope.
#
# Rosenbrock's valley $f = (1-x)^2 + 100(y-x^2)^2$ is the classic non-convex test: a curved,
# flat-bottomed valley around the minimum at $(1, 1)$. 1,000 steps from $(-1.5, 2)$:

# %%
rosen_table = plot_paths(
    rosenbrock(),
    make_optimizers(lr_sgd=0.001, lr_adagrad=0.5, lr_rmsprop=0.01, lr_adam=0.05),
    np.array([-1.5, 2.0]),
    1000,
    xlim=(-2.0, 2.0),
    ylim=(-1.0, 3.0),
    minimum=np.ones(2),
    title="Rosenbrock's valley, 1,000 steps from (−1.5, 2)",
    levels=np.geomspace(0.1, 2000, 14),
)
rosen_table

# %% [markdown]
# Here the learning rate matters more than the method: plain SGD at the largest stable $\eta$ is
# still on the left of the valley after 1,000 steps; momentum and Nesterov reach the minimum;
# among the adaptive methods at these settings Adam and Nadam get close, AdamW stops a little
# short (its weight decay pulls towards $(0, 0)$, not towards the minimum at $(1, 1)$), and
# AdaGrad and AdaMax are still on their way. These are toy problems with hand-picked learning
# rates: they show *how* each method moves, not which one is best on a network.
#
# ## 5. AdaGrad stops too early
#
# AdaGrad's $\mathbf s$ only grows, so its effective learning rate $\eta/\sqrt{\mathbf s}$ only
# shrinks. The book: it "frequently performs well for simple quadratic problems, but it often
# stops too early when training neural networks". The reason shows on a noisy problem: a linear
# layer fitted by mini-batch MSE (`noisy_least_squares`: 20 features whose scales span a factor of
# 10, noisy targets, batches of 32). Mini-batch gradients never vanish, so AdaGrad's $\mathbf s$
# grows about linearly with $t$ and its steps shrink like $1/\sqrt t$; RMSProp's $\mathbf s$ is an
# average that stays at the gradient's scale. Same $\eta = 0.01$ for both, 3,000 steps:

# %%
batch_loss, full_loss = noisy_least_squares(
    n=1000, d=20, batch_size=32, condition=100.0, seed=0
)
theta0 = np.zeros(20)
runs = {}
for name, opt in {
    "AdaGrad": AdaGrad(0.01),
    "RMSProp": RMSProp(0.01),
    "Adam": Adam(0.01),
}.items():
    path, _ = minimize(opt, batch_loss, theta0, 3000)
    runs[name] = {"full loss": np.array([full_loss(p)[0] for p in path[::50]]), "opt": opt}
fig, ax = plt.subplots(figsize=(7.0, 3.6))
for name, r in runs.items():
    ax.plot(np.arange(0, 3001, 50), r["full loss"], label=name)
ax.set_yscale("log")
ax.set_xlabel("step (batch of 32)")
ax.set_ylabel("MSE on all 1,000 examples (log scale)")
ax.set_title("A noisy linear layer, η = 0.01 for all three")
ax.legend()
plt.show()
table = pd.DataFrame(
    {
        name: {f"loss at step {t}": r["full loss"][t // 50] for t in (500, 1000, 3000)}
        for name, r in runs.items()
    }
).T
table

# %%
adagrad = runs["AdaGrad"]["opt"]
eff = 0.01 / np.sqrt(adagrad.s + adagrad.epsilon)
print(
    "AdaGrad's effective learning rate after 3,000 steps: "
    f"{eff.min():.1e} to {eff.max():.1e} per coordinate\n"
    f"(it started at η/√0.1 = {0.01 / np.sqrt(0.1 + 1e-7):.3f})"
)

# %% [markdown]
# RMSProp and Adam reach the noise floor of this problem within a few hundred steps (their loss
# then fluctuates with the mini-batch noise); AdaGrad is still far above it after 3,000 steps,
# because its learning rate has shrunk by one to two orders of magnitude on every coordinate.
# Keras' `Adagrad` starts its accumulator at 0.1 (`initial_accumulator_value`), which is why the
# first steps are not larger than η/√0.1.
#
# ## 6. Keras optimizers on Fashion-MNIST
#
# The same MLP (784-100-10, ReLU, Glorot initialization), the same data (a subset of
# Fashion-MNIST), the same batches for each seed; only the optimizer changes. Learning rates are
# the usual starting points: 0.01 for the SGD family (momentum 0.9), 0.01 for AdaGrad, 0.002 for
# AdaMax (its paper's default), 0.001 for the others (Keras' defaults). Sizes come from the run
# profile.

# %%
N_TRAIN = profile.pick(book=3_000, full=55_000)
N_VALID = profile.pick(book=1_000, full=5_000)
EPOCHS = profile.pick(book=4, full=10)
SEEDS = profile.pick(book=[0, 1, 2], full=[0, 1, 2, 3, 4])
data = subset(load_fashion_mnist(), N_TRAIN, N_VALID)
print(f"{profile.name} profile: {N_TRAIN:,} training and {N_VALID:,} validation images,")
print(f"{EPOCHS} epochs of batch 64, seeds {SEEDS}")
KERAS_OPTIMIZERS = {
    "SGD": lambda: keras.optimizers.SGD(learning_rate=0.01),
    "Momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "Nesterov": lambda: keras.optimizers.SGD(
        learning_rate=0.01, momentum=0.9, nesterov=True
    ),
    "AdaGrad": lambda: keras.optimizers.Adagrad(learning_rate=0.01),
    "RMSProp": lambda: keras.optimizers.RMSprop(learning_rate=0.001),
    "Adam": lambda: keras.optimizers.Adam(learning_rate=0.001),
    "AdaMax": lambda: keras.optimizers.Adamax(learning_rate=0.002),
    "Nadam": lambda: keras.optimizers.Nadam(learning_rate=0.001),
    "AdamW": lambda: keras.optimizers.AdamW(learning_rate=0.001),
}

# %% tags=["nbval-ignore-output"]
histories, final_acc, final_loss, seconds = {}, {}, {}, {}
for name, make in KERAS_OPTIMIZERS.items():
    for seed in SEEDS:
        model = build_mlp((100,), seed=seed)
        h = fit(
            model,
            data.train,
            valid=data.valid,
            epochs=EPOCHS,
            batch_size=64,
            optimizer=make(),
            seed=seed,
        )
        histories.setdefault(name, []).append(h)
    final_acc[name] = [h["val_accuracy"].iloc[-1] for h in histories[name]]
    final_loss[name] = [h["loss"].iloc[-1] for h in histories[name]]
    seconds[name] = np.mean([h["seconds"].sum() for h in histories[name]])
acc = pd.DataFrame(final_acc, index=pd.Index(SEEDS, name="seed")).T
loss = pd.DataFrame(final_loss, index=pd.Index(SEEDS, name="seed")).T
summary = pd.DataFrame(
    {
        "val acc (mean)": acc.mean(axis=1).round(3),
        "min": acc.min(axis=1).round(3),
        "max": acc.max(axis=1).round(3),
        "train loss (mean)": loss.mean(axis=1).round(2),
        "time per run": pd.Series(seconds).map(format_duration),
    }
).sort_values("val acc (mean)", ascending=False)
print("validation accuracy rank per seed (1 = best):")
print(acc.rank(ascending=False, method="min").astype(int).T.to_string())
summary

# %%
ranks = acc.rank(ascending=False)  # rank of each optimizer within each seed (1 = best)
claim(
    "plain SGD at η = 0.01 ends last or second to last for every seed",
    bool((ranks.loc["SGD"] >= len(acc) - 1).all()),
    measured=ranks.loc["SGD"].tolist(),
)
claim(
    "momentum (0.9) beats plain SGD by at least 0.03 val accuracy for every seed",
    bool((acc.loc["Momentum"] - acc.loc["SGD"] >= 0.03).all()),
    measured=(acc.loc["Momentum"] - acc.loc["SGD"]).tolist(),
)
claim(
    "Adam beats AdaGrad by at least 0.02 val accuracy for every seed",
    bool((acc.loc["Adam"] - acc.loc["AdaGrad"] >= 0.02).all()),
    measured=(acc.loc["Adam"] - acc.loc["AdaGrad"]).tolist(),
)
adam_like, others = (
    ["Adam", "Nadam", "AdamW"],
    ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "AdaMax"],
)
claim(
    "Adam, Nadam, AdamW: lower final training loss than each of the other six, every seed",
    bool((loss.loc[adam_like].max() < loss.loc[others].min()).all()),
    measured=(loss.loc[others].min() - loss.loc[adam_like].max()).tolist(),
)
top5 = acc.mean(axis=1).nlargest(5)
claim(
    "the five best optimizers by mean validation accuracy are within 0.03 of each other",
    bool(top5.max() - top5.min() < 0.03),
    measured=top5.round(4).to_dict(),
)

# %%
mean_curves = {
    name: pd.concat(hs).groupby(level=0).mean() for name, hs in histories.items()
}
axes = plot_learning_curves(
    mean_curves,
    ("loss", "val_accuracy"),
    title=f"784-100-10 MLP, mean over {len(SEEDS)} seeds",
)
plt.show()

# %% [markdown]
# What the data can and cannot rank. The claims above hold over the three seeds shown, and were
# checked under the SSE4.1 instruction set too: plain SGD at $\eta = 0.01$ is clearly the slowest;
# momentum adds several hundredths of validation accuracy; AdaGrad lags behind Adam; and Adam,
# Nadam and AdamW reach the lowest *training* loss. (Over five seeds, measured while writing this
# notebook, the last one is a tendency rather than a law: for one seed the gap to RMSProp was below
# 0.01.) On *validation accuracy* after a few epochs, the best five lie within a few hundredths of
# each other, which is about the seed-to-seed spread of a single optimizer (the min and max
# columns), and the rank table shows the order changing from seed to seed; RMSProp and AdaMax
# sometimes end well below the others (a noisy last epoch). So these runs **cannot rank** the top
# group, and a ranking printed from one seed would be noise. The time column is measured wall
# time, which varies with whatever else the machine is doing; the update rules themselves are a
# few element-wise operations per weight, cheap next to the forward and backward passes.
#
# ## 7. Sparse models
#
# A sparse model, with most weights exactly zero, is smaller and can be faster. The book gives
# three routes: train as usual and zero out the tiny weights; apply strong $\ell_1$
# regularization during training, which pushes the optimizer to zero out as many weights as it
# can; and, if that is not enough, the TensorFlow Model Optimization Toolkit's pruning API
# (TF-MOT is written for `tf.keras`, i.e. Keras 2, and is not installed here). A fourth route is
# built into Keras: the FTRL optimizer (`keras.optimizers.Ftrl`) applies $\ell_1$ as a *proximal*
# step that sets weights to exactly 0, which gradient-based $\ell_1$ with Adam never does (Adam
# only makes them oscillate around 0).
#
# We train the same MLP three ways (Adam; Adam with $\ell_1 = 10^{-4}$ on both kernels; FTRL with
# $\ell_1$ strength 0.01, $\eta = 0.2$), count the kernel weights that are exactly 0 and those
# below $10^{-3}$ in magnitude, then prune each model at that threshold (the first route) and
# count again.


# %%
def kernel_weights(model):
    return np.concatenate([layer.kernel.numpy().ravel() for layer in dense_layers(model)])


def prune(model, threshold):
    """Set every kernel weight with |w| < threshold to 0 (the first route)."""
    for layer in dense_layers(model):
        w = layer.kernel.numpy()
        layer.kernel.assign(np.where(np.abs(w) < threshold, 0.0, w))


def validation_accuracy(model):
    return float(model.evaluate(*data.valid, verbose=0, return_dict=True)["accuracy"])


THRESHOLD = 1e-3
L1 = 1e-4
routes = {
    "Adam": (lambda: keras.optimizers.Adam(), None),
    "Adam + ℓ1": (lambda: keras.optimizers.Adam(), keras.regularizers.L1(L1)),
    "FTRL + ℓ1": (
        lambda: keras.optimizers.Ftrl(learning_rate=0.2, l1_regularization_strength=0.01),
        None,
    ),
}

# %% tags=["nbval-ignore-output"]
sparse = {}
for label, (make, regularizer) in routes.items():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=regularizer),
        ]
    )
    fit(
        model,
        data.train,
        valid=data.valid,
        epochs=EPOCHS,
        batch_size=64,
        optimizer=make(),
        seed=0,
    )
    w = kernel_weights(model)
    row = {
        "zero": np.mean(w == 0),
        "|w| < 1e-3": np.mean(np.abs(w) < THRESHOLD),
    }
    row["val acc"] = validation_accuracy(model)
    prune(model, THRESHOLD)
    row["zero, pruned"] = np.mean(kernel_weights(model) == 0)
    row["val acc, pruned"] = validation_accuracy(model)
    sparse[label] = row
sparse = pd.DataFrame.from_dict(sparse, orient="index")
sparse.round(3)

# %%
claim(
    "ordinary Adam training leaves (almost) no weight exactly at 0 (< 0.1 %)",
    bool(sparse.loc["Adam", "zero"] < 0.001),
    measured=sparse.loc["Adam", "zero"],
)
claim(
    "pruning at 1e-3 after ordinary training zeroes less than 5 % of the weights",
    bool(sparse.loc["Adam", "zero, pruned"] < 0.05),
    measured=sparse.loc["Adam", "zero, pruned"],
)
claim(
    "with ℓ1 the same pruning zeroes at least 5 times more weights",
    bool(sparse.loc["Adam + ℓ1", "zero, pruned"] >= 5 * sparse.loc["Adam", "zero, pruned"]),
    measured=sparse["zero, pruned"].tolist(),
)
claim(
    "FTRL's proximal ℓ1 sets at least half of the weights exactly to 0 without any pruning",
    bool(sparse.loc["FTRL + ℓ1", "zero"] >= 0.5),
    measured=sparse.loc["FTRL + ℓ1", "zero"],
)
claim(
    "pruning at 1e-3 costs less than 0.02 validation accuracy on every route",
    bool((sparse["val acc"] - sparse["val acc, pruned"] < 0.02).all()),
    measured=(sparse["val acc"] - sparse["val acc, pruned"]).tolist(),
)

# %% [markdown]
# In the run shown: ordinary training leaves virtually no weight at exactly 0 and few near it, so
# pruning tiny weights alone gives a model that is hardly sparse (the book's warning). With
# $\ell_1$ many more weights end up near 0 and the same pruning removes several times more, at
# little cost in accuracy (but Adam alone still leaves them at small non-zero values). FTRL's
# proximal update produces exact zeros by itself, here for most of the weights, but at these
# settings it trains more slowly than Adam and ends with a lower validation accuracy (see the
# table). How sparse, and at what cost in accuracy, depends on the $\ell_1$ strength: a larger
# one gives sparser models and, eventually, worse ones.
#
# ## Summary
#
# - Each optimizer of the chapter is a few lines of NumPy (`tdnn.optimizers`), equal to Keras 3
#   step for step; Keras' Nesterov stores the look-ahead point, its Adam puts $\varepsilon$
#   outside the square root (which matters only for gradients below about $10^{-3}$), and its
#   Nadam warms its momentum up over about 100 steps.
# - Momentum's terminal velocity is $1/(1-\beta)$ times the plain step; the adaptive methods take
#   steps of about $\eta$ per coordinate whatever the scale of the gradient.
# - AdaGrad's learning rate only decays: on noisy problems it stalls.
# - On a small Fashion-MNIST run, SGD without momentum is clearly slowest and AdaGrad lags; the
#   others cannot be ranked from a few seeds. Try Adam or Nadam first, and momentum SGD (with a
#   good schedule, chapter 8) when you can afford to tune.
# - For a sparse model, prune after $\ell_1$ training (or use a proximal optimizer such as FTRL);
#   pruning an ordinary model gives little sparsity.
