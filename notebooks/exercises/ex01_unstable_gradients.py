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

# %% [raw]
# # ASSIGNMENT CONFIG
# name: ex01_unstable_gradients
# init_cell: true
# check_all_cell: true
# export_cell: false
# run_tests: true
# generate: true
# tests:
#   files: false

# %% [markdown]
# # Exercises 1: unstable gradients, initialization, activations, BN and clipping
#
# Graded exercises for chapters 1–5 of the companion. Answer each question in the cell below it,
# then run the `grader.check(...)` cell that follows: it checks the *format* of your answer (and,
# for the coding questions, a first example). The full grading happens when you submit.
#
# Multiple-choice answers are letters given as strings, e.g. `qN = "c"`; "select all that apply"
# answers are sets of letters, e.g. `qN = {"b", "d"}`.

# %%
from tdnn import setup_notebook

profile = setup_notebook()

import numpy as np

# %% [raw]
# # BEGIN QUESTION
# name: q1
# points: 1

# %% [markdown]
# **Question 1 (chapter 1).** The logistic function $\sigma(z) = 1/(1+e^{-z})$ has derivative
# $\sigma'(z) = \sigma(z)\,(1-\sigma(z))$. During backpropagation each sigmoid layer multiplies
# the error signal by $\sigma'(z)$ (among other factors). What is the *largest* value $\sigma'$
# can take? Give a number.

# %% [raw]
# # BEGIN SOLUTION

# %%
q1 = 0.25  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(q1, (int, float)) and 0 < q1 < 1

# %%
# HIDDEN
from tdnn.assignments import check_number

check_number(q1, 0.25, rel_tol=1e-6, hint="Where does σ(z)(1 − σ(z)) reach its maximum?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2 (chapter 1).** In a network of sigmoid layers, layer $l+1$ computes
# $\mathbf z^{(l+1)} = \sigma(\mathbf z^{(l)})\,\mathbf W^{(l+1)} + \mathbf b^{(l+1)}$, one row per
# instance, where $\mathbf W^{(l+1)}$ is the layer's Keras kernel (one row per unit of layer $l$,
# one column per unit of layer $l+1$). Write `backprop_sigmoid(delta_above, kernel_above, z)`: it
# returns layer $l$'s error signal $\boldsymbol\delta^{(l)} = \partial\mathcal L/\partial\mathbf
# z^{(l)}$, given `delta_above` $= \boldsymbol\delta^{(l+1)}$ (shape (batch, units of layer
# $l+1$)), `kernel_above` $= \mathbf W^{(l+1)}$ and `z` $= \mathbf z^{(l)}$ (shape (batch, units
# of layer $l$)). Use NumPy and the chain rule (question 1 gives $\sigma'$).

# %% [raw]
# # BEGIN SOLUTION

# %%
def backprop_sigmoid(delta_above, kernel_above, z):
    # BEGIN SOLUTION
    s = 1 / (1 + np.exp(-z))
    return (delta_above @ kernel_above.T) * s * (1 - s)
    # END SOLUTION


# %% [markdown]
# **Explanation.** $\mathbf z^{(l)}$ reaches the loss only through $\sigma(\mathbf z^{(l)})$ and
# then layer $l+1$'s weights, so the chain rule gives
# $\boldsymbol\delta^{(l)} = \bigl(\boldsymbol\delta^{(l+1)}\mathbf W^{(l+1)\top}\bigr) \odot
# \sigma'(\mathbf z^{(l)})$: the signal goes back through the transposed kernel, then each unit
# multiplies it by its own slope. That product is how gradients vanish: every layer multiplies
# $\boldsymbol\delta$ by the weights and by $\sigma' \le 1/4$; with Glorot weights
# ($\sqrt{\text{fan}}\,\sigma_w \approx 1$) and units near $z = 0$, each layer divides it by
# about 4, thirty layers by about $4^{30}$. Chapter 1 predicts the per-layer factor with
# `ti.mean_field` (its `gain`) and measures it in a real network.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.allclose(backprop_sigmoid(np.ones((2, 3)), np.ones((4, 3)), np.zeros((2, 4))), 0.75)

# %%
# HIDDEN
from tdnn.assignments import check_backprop_sigmoid

check_backprop_sigmoid(backprop_sigmoid)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 1

# %% [markdown]
# **Question 3 (chapter 2).** Is it OK to initialize all the weights of a layer to the *same*
# value, as long as that value is drawn at random with He initialization?
#
# - (a) Yes: He initialization gives the value the right scale for ReLU.
# - (b) No: all the neurons of the layer would compute the same output and receive the same
#   gradient, so they would stay identical, as if the layer had one neuron.
# - (c) Yes: backpropagation breaks the symmetry after the first step.
# - (d) No: the weights would all be too large.

# %% [raw]
# # BEGIN SOLUTION

# %%
q3 = "b"  # SOLUTION

# %% [markdown]
# **Explanation.** Neurons of one layer that start with identical weights (and biases) compute
# identical outputs, so backpropagation gives them identical gradients and every update keeps them
# identical: the layer behaves like a single neuron, whatever the scale of the shared value. The
# weights must be sampled *independently*; the distribution (He, Glorot, LeCun) only sets their
# scale.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q3, "abcd")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q3, "b", hint="Think of two neurons of the same layer: what do they compute, and what gradients do they get?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 1

# %% [markdown]
# **Question 4 (chapter 2).** Is it OK to initialize the bias terms to 0?
#
# - (a) Yes: the random weights already break the symmetry; zeros are Keras' default
#   (`bias_initializer="zeros"`).
# - (b) No: with zero biases all the neurons of a layer compute the same output.
# - (c) No: ReLU neurons with a zero bias are dead from the start.

# %% [raw]
# # BEGIN SOLUTION

# %%
q4 = "a"  # SOLUTION

# %% [markdown]
# **Explanation.** Symmetry is broken by the weights, which are drawn independently for every
# neuron, so identical biases do no harm. Initializing biases to 0 is the usual choice and Keras'
# default; drawing them like the weights makes little difference.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q4, "abc")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q4, "a", hint="What breaks the symmetry between the neurons of a layer?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# points: 2

# %% [markdown]
# **Question 5 (chapter 2).** Write `he_normal_std(fan_in)`, the standard deviation $\sigma$ of
# the normal distribution that He initialization draws a layer's weights from (Table 11-1, the
# book's plain normal distribution, not Keras' truncated one).


# %% [raw]
# # BEGIN SOLUTION

# %%
def he_normal_std(fan_in):
    # BEGIN SOLUTION
    return np.sqrt(2.0 / fan_in)
    # END SOLUTION


# %% [markdown]
# **Explanation.** Table 11-1 gives He initialization the variance $\sigma^2 =
# 2/\text{fan}_\text{in}$, so $\sigma = \sqrt{2/\text{fan}_\text{in}}$ (1 for two inputs). The
# variance argument behind it: a ReLU unit passes on only half of its input's second moment,
# since it zeroes the negative half, and the factor 2 makes up for it, so the signal keeps its
# scale from layer to layer ($\text{fan}_\text{in}$ alone, because He et al. keep the forward
# pass stable). Keras' `he_normal` draws from a normal truncated at two standard deviations and
# divides its parameter by 0.8796 first, so that the weights still have standard deviation
# $\sigma$; chapter 2 checks both against Keras.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
bool(np.isclose(he_normal_std(2), 1.0))

# %%
# HIDDEN
from tdnn.assignments import check_he_normal_std

check_he_normal_std(he_normal_std)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# points: 1

# %% [markdown]
# **Question 6 (chapter 3).** Which of these are advantages of SELU over ReLU? Select all that
# apply.
#
# - (a) It can output negative values, so a layer's average output can be closer to 0, which
#   helps against vanishing gradients.
# - (b) Its derivative is never 0, so its units cannot die the way ReLU units do.
# - (c) Under the right conditions (standardized inputs, LeCun normal initialization, a plain
#   stack of dense layers) the network self-normalizes: each layer's outputs keep mean 0 and
#   standard deviation 1.
# - (d) It is cheaper to compute than ReLU.
# - (e) It self-normalizes in any architecture, skip connections and recurrent layers included.

# %% [raw]
# # BEGIN SOLUTION

# %%
q6 = {"a", "b", "c"}  # SOLUTION

# %% [markdown]
# **Explanation.** (a), (b) and (c) are the chapter's three advantages. (d) is false: SELU needs
# an exponential for negative inputs, ReLU only a comparison (chapter 3 measures the cost).
# (e) is false: self-normalization is guaranteed only for a sequential stack of dense layers with
# LeCun normal initialization and standardized inputs; skip connections, recurrent layers and most
# regularization (other than alpha dropout) break it.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q6, "abcde", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q6, {"a", "b", "c"}, hint="Three options are right; chapter 3 measures the cost of each activation and tests what breaks self-normalization.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# points: 2

# %% [markdown]
# **Question 7 (chapter 3).** Write `selu(z)`, the SELU activation applied elementwise to a
# NumPy array `z` of any shape. SELU is a scaled ELU (Eq. 11-2) with $\alpha \approx 1.67$ and
# scale $\lambda \approx 1.05$; self-normalization needs the exact constants, imported below as
# `SELU_ALPHA` and `SELU_SCALE`. Use NumPy.

# %% [raw]
# # BEGIN SOLUTION

# %%
from tdnn.activations import SELU_ALPHA, SELU_SCALE


def selu(z):
    # BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))
    # END SOLUTION


# %% [markdown]
# **Explanation.** $\operatorname{SELU}(z) = \lambda z$ for $z > 0$ and
# $\lambda\alpha(e^z - 1)$ for $z \le 0$: the scale multiplies *both* sides. The negative side
# saturates at $-\lambda\alpha \approx -1.76$, which pulls a layer's mean output towards 0; the
# slope $\lambda > 1$ of the positive side makes up for the variance lost there. Klambauer et al.
# (2017) chose $\alpha$ and $\lambda$ so that mean 0 and variance 1 are a fixed point of a dense
# layer with LeCun-normal weights: with rounded constants the fixed point moves, and chapter 3
# shows what breaks self-normalization. `np.where` evaluates both branches, so
# `np.minimum(z, 0.0)` keeps `exp` from overflowing on large positive inputs (`expm1` is
# `exp(z) − 1`, accurate near 0).

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.asarray(selu(np.array([-1.0, 0.0, 2.0]))).shape == (3,)

# %%
# HIDDEN
from tdnn.assignments import check_selu

check_selu(selu)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# points: 2

# %% [markdown]
# **Question 8 (chapter 4).** Write `batch_norm_forward(x, gamma, beta, epsilon)`, Batch
# Normalization in training mode (Eq. 11-4): `x` has shape (batch size, features); normalize each
# feature with the mean and variance of the batch, then scale by `gamma` and shift by `beta`
# (both of shape (features,)). Use NumPy.


# %% [raw]
# # BEGIN SOLUTION

# %%
def batch_norm_forward(x, gamma, beta, epsilon=1e-3):
    # BEGIN SOLUTION
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + epsilon)
    return gamma * x_hat + beta
    # END SOLUTION


# %% [markdown]
# **Explanation.** Eq. 11-4 in four steps: the mean $\boldsymbol\mu_B$ and the variance
# $\boldsymbol\sigma_B^2$ of each feature over the $m_B$ instances of the batch (axis 0, dividing
# by $m_B$), then $\hat{\mathbf x} = (\mathbf x - \boldsymbol\mu_B)/\sqrt{\boldsymbol\sigma_B^2 +
# \varepsilon}$, then $\mathbf z = \boldsymbol\gamma \otimes \hat{\mathbf x} + \boldsymbol\beta$.
# $\varepsilon$ keeps a feature that is constant over the batch from causing a division by zero;
# $\boldsymbol\gamma$ and $\boldsymbol\beta$ let the layer learn the scale and offset that suit
# the next layer, undoing the normalization if that helps. At inference Keras uses moving
# averages of the batch statistics instead; chapter 4 compares this forward pass with Keras'
# `BatchNormalization`.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.asarray(batch_norm_forward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), 0.0)).shape == (2, 1)

# %%
# HIDDEN
from tdnn.assignments import check_batch_norm_forward

check_batch_norm_forward(batch_norm_forward)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# points: 2

# %% [markdown]
# **Question 9 (chapter 5).** Write `clip_by_norm(g, threshold)`: if the L2 norm of the gradient
# `g` (a NumPy array of any shape) exceeds `threshold`, rescale `g` so that its norm equals
# `threshold`; otherwise return it unchanged. The book's example: `[0.9, 100.0]` with threshold
# 1.0 gives about `[0.0090, 0.99996]`.


# %% [raw]
# # BEGIN SOLUTION

# %%
def clip_by_norm(g, threshold):
    # BEGIN SOLUTION
    norm = np.linalg.norm(g)
    return g * threshold / max(norm, threshold)
    # END SOLUTION


# %% [markdown]
# **Explanation.** Clipping by norm multiplies $\mathbf g$ by
# $\text{threshold}/\lVert\mathbf g\rVert$ only when $\lVert\mathbf g\rVert > \text{threshold}$:
# the direction is kept and only the length is capped. Written with
# $\max(\lVert\mathbf g\rVert, \text{threshold})$ in the denominator, a zero gradient causes no
# division by zero. Clipping each component by value instead would turn the book's
# `[0.9, 100.0]` into `[0.9, 1.0]`, almost diagonal, while clipping by norm keeps it pointing
# along the second axis. Keras' `clipnorm` applies this to each variable's gradient separately
# (question 10); chapter 5 compares the variants.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.allclose(clip_by_norm(np.array([0.9, 100.0]), 1.0), [0.00899964, 0.9999595])

# %%
# HIDDEN
from tdnn.assignments import check_clip_by_norm

check_clip_by_norm(clip_by_norm)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q10
# points: 1

# %% [markdown]
# **Question 10 (chapter 5).** Keras' `clipnorm` clips *each variable's* gradient separately. In a
# model with 3 variables (say a kernel, a bias and an output kernel), by how many degrees at most
# can `clipnorm=1.0` turn the whole step away from the raw gradient? Give the supremum in degrees
# (a number; it is approached but never reached).

# %% [raw]
# # BEGIN SOLUTION

# %%
q10 = float(np.degrees(np.arccos(1 / np.sqrt(3))))  # SOLUTION

# %% [markdown]
# **Explanation.** Clipping multiplies variable $i$'s gradient by $c_i = \min(1, 1/\lVert\mathbf
# g_i\rVert) > 0$, so the raw step and the clipped step have the same per-variable directions and
# their angle is the angle between the vectors of norms $(n_1, n_2, n_3)$ and
# $(\min(n_1, 1), \min(n_2, 1), \min(n_3, 1))$. The largest turn comes from one huge gradient and
# two of norm 1: the raw norms point along the first axis, the clipped ones along the diagonal
# $(1, 1, 1)$, at $\arccos(1/\sqrt 3) \approx 54.7°$. With $n$ variables the bound is
# $\arccos(1/\sqrt n)$: 45° for two.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(q10, (int, float)) and 0 <= q10 <= 90

# %%
# HIDDEN
from tdnn.assignments import check_number

check_number(q10, 54.7356, rel_tol=5e-3, hint="Which per-variable norms turn the step the most? Try one huge gradient and two of norm 1.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
