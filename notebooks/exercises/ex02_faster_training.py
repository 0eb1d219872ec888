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
# name: ex02_faster_training
# init_cell: true
# check_all_cell: true
# export_cell: false
# run_tests: true
# generate: true
# tests:
#   files: false

# %% [markdown]
# # Exercises 2: reusing layers, faster optimizers, schedules and regularization
#
# Graded exercises for chapters 6–10 of the companion. Answer each question in the cell below it,
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
# **Question 1 (chapter 6).** You reuse the hidden layers of a network trained on a similar task
# for a new task with few labels. In what order should you proceed?
#
# - (a) Replace the output layer; freeze all the reused layers and train; then unfreeze the top one
#   or two hidden layers, lower the learning rate, recompile, and train again.
# - (b) Keep the output layer; unfreeze everything and train with a high learning rate.
# - (c) Freeze the output layer and train only the lower hidden layers.
# - (d) Replace the lower hidden layers, since they are the most task-specific.

# %% [raw]
# # BEGIN SOLUTION

# %%
q1 = "a"  # SOLUTION

# %% [markdown]
# **Explanation.** The output layer is task-specific and must be replaced; the lower layers detect
# low-level features and are the most reusable, the upper hidden layers less so. With the reused
# layers frozen, the new output layer first learns reasonable weights without large error gradients
# wrecking the reused ones; then unfreezing the top hidden layers with a lower learning rate
# fine-tunes them. Freezing or unfreezing only takes effect after recompiling the model.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q1, "abcd")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q1, "a", hint="Which layers are the most task-specific, and which the most generic?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2
# points: 2

# %% [markdown]
# **Question 2 (chapter 6).** `model_a` is a trained `keras.Sequential` model for task A; its
# last layer is its output layer. Write `model_b_on_a(model_a)`, which returns a new
# `keras.Sequential` model for task B (a binary task): every layer of `model_a` but its output
# layer, with model A's trained weights, then a new output layer
# `keras.layers.Dense(1, activation="sigmoid")`. The reused layers must be frozen, the new output
# layer trainable, and `model_a` must not change, neither now nor when the new model trains.

# %% [raw]
# # BEGIN SOLUTION

# %%
import keras


def model_b_on_a(model_a):
    # BEGIN SOLUTION
    model_a_clone = keras.models.clone_model(model_a)
    model_a_clone.set_weights(model_a.get_weights())
    reused = model_a_clone.layers[:-1]
    for layer in reused:
        layer.trainable = False
    model_b = keras.Sequential([keras.Input(shape=model_a.input_shape[1:]), *reused])
    model_b.add(keras.layers.Dense(1, activation="sigmoid"))
    return model_b
    # END SOLUTION


# %% [markdown]
# **Explanation.** `keras.Sequential(model_a.layers[:-1])` would hold model A's very layers:
# training model B would change model A too. `keras.models.clone_model` copies the architecture
# only, with new random weights, so the trained weights are copied with `set_weights`. The reused
# layers are frozen for the first epochs, while the new output layer, which starts from random
# weights, makes large errors whose gradients would otherwise wreck the reused features; freezing
# takes effect when the model is compiled, and later the top hidden layers can be unfrozen with a
# lower learning rate (question 1). `tdnn.transfer.reuse_layers(model_a, freeze=True)` does the
# same; chapter 6 shows the shared-layers pitfall and measures when transfer helps.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
_model_a = keras.Sequential(
    [
        keras.Input(shape=(4,)),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dense(2, activation="softmax"),
    ]
)
_model_b = model_b_on_a(_model_a)
(len(_model_b.layers), _model_b.layers[-1].units, _model_b.layers[0].trainable)

# %%
# HIDDEN
from tdnn.assignments import check_model_b_on_a

check_model_b_on_a(model_b_on_a)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 1

# %% [markdown]
# **Question 3 (chapter 7).** With momentum optimization, $\mathbf m \leftarrow \beta\mathbf m -
# \eta\nabla_\theta J(\theta)$ and $\theta \leftarrow \theta + \mathbf m$. If the gradient stays
# constant, the step size approaches a *terminal velocity*. With $\beta = 0.99$, how many times
# larger than a plain gradient-descent step $\eta\nabla_\theta J$ is it? Give a number.

# %% [raw]
# # BEGIN SOLUTION

# %%
q3 = 1 / (1 - 0.99)  # SOLUTION

# %% [markdown]
# **Explanation.** At the fixed point $\mathbf m = \beta\mathbf m - \eta\nabla J$, so
# $\mathbf m = -\eta\nabla J / (1-\beta)$: the step is $1/(1-\beta) = 100$ times the plain one.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(q3, (int, float)) and q3 > 0

# %%
# HIDDEN
from tdnn.assignments import check_number

check_number(q3, 100.0, rel_tol=1e-3, hint="Solve m = βm − η∇J for m.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 1

# %% [markdown]
# **Question 4 (chapter 7).** What happens if you set the momentum hyperparameter too close to 1
# (say 0.99999) when using SGD with momentum?
#
# - (a) Training is faster and more stable than with 0.9.
# - (b) The optimizer picks up a lot of speed, overshoots the minimum, and oscillates back and forth
#   many times before it settles, so it converges more slowly.
# - (c) The updates become tiny, and training stalls at the start.
# - (d) Nothing changes: momentum only matters in the first few steps.

# %% [raw]
# # BEGIN SOLUTION

# %%
q4 = "b"  # SOLUTION

# %% [markdown]
# **Explanation.** With $\beta$ close to 1 there is almost no friction: the momentum accumulates
# until the steps are huge (terminal velocity $1/(1-\beta)$ times the gradient step, 100,000 here),
# carries the parameters right past the minimum, and takes a long time to be reversed, so the
# trajectory oscillates many times around the minimum before converging.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q4, "abcd")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q4, "b", hint="How large does the terminal velocity get, and what stops the optimizer once it passes the minimum?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# points: 2

# %% [markdown]
# **Question 5 (chapter 7).** Write one Adam update (Eq. 11-9, with bias correction):
# `adam_step(theta, grad, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`
# returns the new `(theta, m, s)`, where `m` and `s` are the two moving averages (both start at
# 0) and `t` is the step number, counting from 1. Use NumPy.

# %% [raw]
# # BEGIN SOLUTION

# %%
def adam_step(theta, grad, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    # BEGIN SOLUTION
    m = beta_1 * m + (1 - beta_1) * grad
    s = beta_2 * s + (1 - beta_2) * grad**2
    m_hat = m / (1 - beta_1**t)
    s_hat = s / (1 - beta_2**t)
    theta = theta - learning_rate * m_hat / (np.sqrt(s_hat) + epsilon)
    return theta, m, s
    # END SOLUTION


# %% [markdown]
# **Explanation.** Eq. 11-9: $\mathbf m$ is a decaying average of the gradients (momentum),
# $\mathbf s$ of their squares (as in RMSProp). Both start at 0, so they are biased towards 0 in
# the first steps; dividing by $1 - \beta_1^t$ and $1 - \beta_2^t$ corrects that (at $t = 1$,
# $\hat{\mathbf m}$ is exactly the gradient). The update divides $\hat{\mathbf m}$ by
# $\sqrt{\hat{\mathbf s}}$ elementwise, so every parameter moves by roughly $\eta$ whatever the
# scale of its gradient; $\varepsilon$ only guards against a division by zero (the book puts it
# inside the square root, Keras outside: the difference is negligible). Chapter 7 checks this
# update against `keras.optimizers.Adam` step for step.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.allclose(adam_step(np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1), 1, learning_rate=0.1)[0], [-0.1])

# %%
# HIDDEN
from tdnn.assignments import check_adam_step

check_adam_step(adam_step)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# points: 2

# %% [markdown]
# **Question 6 (chapter 8).** Write `one_cycle_lr(t, total_steps, max_lr)`, the 1cycle learning
# rate at batch step `t` (the book's `OneCycleScheduler` shape): with
# `last_steps = total_steps // 10 + 1` and `half = (total_steps - last_steps) // 2`, the rate rises
# linearly from `max_lr / 10` at step 0 to `max_lr` at step `half`, falls linearly back to
# `max_lr / 10` at step `2 * half`, then falls linearly to `max_lr / 10_000` at step `total_steps`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def one_cycle_lr(t, total_steps, max_lr):
    # BEGIN SOLUTION
    last_steps = total_steps // 10 + 1
    half = (total_steps - last_steps) // 2
    start_lr, last_lr = max_lr / 10, max_lr / 10_000
    if t < half:
        return start_lr + (max_lr - start_lr) * t / half
    if t < 2 * half:
        return max_lr - (max_lr - start_lr) * (t - half) / half
    return start_lr - (start_lr - last_lr) * (t - 2 * half) / (total_steps - 2 * half)
    # END SOLUTION


# %% [markdown]
# **Explanation.** The schedule is piecewise linear through four points: `max_lr / 10` at step
# 0, `max_lr` at `half`, `max_lr / 10` again at `2 * half`, and three orders of magnitude lower at
# `total_steps` (`np.interp` over these points gives the same). The high rates in the middle of
# the cycle speed up training and act as a regularizer; the last steps, at a rapidly falling
# rate, let the model settle into a minimum. The book's scheduler also cycles the momentum the
# other way round; chapter 8 compares `tdnn.schedules.one_cycle_schedule` with it.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
bool(np.isclose(one_cycle_lr(0, 100, 0.1), 0.01))

# %%
# HIDDEN
from tdnn.assignments import check_one_cycle_lr

check_one_cycle_lr(one_cycle_lr)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q7
# points: 1

# %% [markdown]
# **Question 7 (chapters 7 and 9).** Which of these produce a *sparse* model (many weights exactly
# 0)? Select all that apply.
#
# - (a) Train normally, then set the tiny weights to 0.
# - (b) Train with (strong) $\ell_1$ regularization.
# - (c) Prune the model during training with the TensorFlow Model Optimization Toolkit.
# - (d) Train with dropout.
# - (e) Train with $\ell_2$ regularization.
# - (f) Use max-norm regularization.

# %% [raw]
# # BEGIN SOLUTION

# %%
q7 = {"a", "b", "c"}  # SOLUTION

# %% [markdown]
# **Explanation.** (a), (b) and (c) are the chapter's three ways. $\ell_1$ pushes weights all the
# way to 0 (its gradient does not shrink near 0); $\ell_2$ and max-norm shrink weights but almost
# never make them exactly 0; dropout zeroes *activations* at random during training, not weights.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q7, "abcdef", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q7, {"a", "b", "c"}, hint="Three options are right; which penalties drive weights exactly to 0, and does dropout touch the weights at all?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q8
# points: 1

# %% [markdown]
# **Question 8 (chapter 9).** Which statements are true? Select all that apply.
#
# - (a) Dropout slows down training: the model usually needs more epochs to converge.
# - (b) Dropout slows down inference.
# - (c) MC dropout slows down inference.
# - (d) MC dropout slows down training compared with ordinary dropout.

# %% [raw]
# # BEGIN SOLUTION

# %%
q8 = {"a", "c"}  # SOLUTION

# %% [markdown]
# **Explanation.** Dropout is only active during training, where it slows convergence (roughly by
# a factor of two, the book says); at inference it is turned off and costs nothing. MC dropout
# trains exactly like dropout, but makes each prediction by averaging many stochastic forward
# passes (dropout on), so inference is that many times slower.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from tdnn.assignments import check_choice_format

check_choice_format(q8, "abcd", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q8, {"a", "c"}, hint="When is dropout active, and how does MC dropout make a prediction?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9
# points: 2

# %% [markdown]
# **Question 9 (chapter 9).** Write `dropout(x, rate, keep, training)`: what Keras' `Dropout`
# layer passes on for its inputs `x` (a NumPy array), given the keep mask `keep` drawn at random
# beforehand (a boolean array of `x`'s shape: `True`, with probability $1 - p$ where $p$ =
# `rate`, for an input that is kept; `False` for one that is dropped). As in Keras, the inputs
# passed on must have the same expected value in training (`training=True`) and at inference
# (`training=False`), and all of dropout's work happens during training. Use NumPy; return a new
# array, do not modify `x`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def dropout(x, rate, keep, training):
    # BEGIN SOLUTION
    if not training:
        return x.copy()
    return np.where(keep, x / (1 - rate), 0.0)
    # END SOLUTION


# %% [markdown]
# **Explanation.** Each input survives with probability $1 - p$; dividing the survivors by
# $1 - p$ keeps every input's expected value equal to $x$ ("inverted" dropout), so at inference
# the layer does nothing at all. The original dropout paper left training unscaled and multiplied
# the weights by $1 - p$ after training instead: the same in expectation, but every inference
# would pay for it. MC dropout keeps this training-mode behaviour at inference and averages many
# such stochastic predictions (question 8); chapter 9 checks this function's reference,
# `tdnn.regularization.apply_dropout`, against Keras.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
np.asarray(dropout(np.ones((2, 3)), 0.5, np.ones((2, 3), dtype=bool), True)).shape == (2, 3)

# %%
# HIDDEN
from tdnn.assignments import check_dropout

check_dropout(dropout)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
