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
# points: 1

# %% [markdown]
# **Question 2 (chapter 2).** Is it OK to initialize all the weights of a layer to the *same*
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
q2 = "b"  # SOLUTION

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

check_choice_format(q2, "abcd")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q2, "b", hint="Think of two neurons of the same layer: what do they compute, and what gradients do they get?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 1

# %% [markdown]
# **Question 3 (chapter 2).** Is it OK to initialize the bias terms to 0?
#
# - (a) Yes: the random weights already break the symmetry; zeros are Keras' default
#   (`bias_initializer="zeros"`).
# - (b) No: with zero biases all the neurons of a layer compute the same output.
# - (c) No: ReLU neurons with a zero bias are dead from the start.

# %% [raw]
# # BEGIN SOLUTION

# %%
q3 = "a"  # SOLUTION

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

check_choice_format(q3, "abc")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q3, "a", hint="What breaks the symmetry between the neurons of a layer?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 1

# %% [markdown]
# **Question 4 (chapter 3).** Which of these are advantages of SELU over ReLU? Select all that
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
q4 = {"a", "b", "c"}  # SOLUTION

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

check_choice_format(q4, "abcde", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q4, {"a", "b", "c"}, hint="Three options are right; chapter 3 measures the cost of each activation and tests what breaks self-normalization.")

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
# points: 2

# %% [markdown]
# **Question 6 (chapter 4).** Write `batch_norm_forward(x, gamma, beta, epsilon)`, Batch
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
# name: q7
# points: 2

# %% [markdown]
# **Question 7 (chapter 5).** Write `clip_by_norm(g, threshold)`: if the L2 norm of the gradient
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
# name: q8
# points: 1

# %% [markdown]
# **Question 8 (chapter 5).** Keras' `clipnorm` clips *each variable's* gradient separately. In a
# model with 3 variables (say a kernel, a bias and an output kernel), by how many degrees at most
# can `clipnorm=1.0` turn the whole step away from the raw gradient? Give the supremum in degrees
# (a number; it is approached but never reached).

# %% [raw]
# # BEGIN SOLUTION

# %%
q8 = float(np.degrees(np.arccos(1 / np.sqrt(3))))  # SOLUTION

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
isinstance(q8, (int, float)) and 0 <= q8 <= 90

# %%
# HIDDEN
from tdnn.assignments import check_number

check_number(q8, 54.7356, rel_tol=5e-3, hint="Which per-variable norms turn the step the most? Try one huge gradient and two of norm 1.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
