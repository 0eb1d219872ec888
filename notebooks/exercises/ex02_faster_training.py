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
# points: 1

# %% [markdown]
# **Question 2 (chapter 7).** With momentum optimization, $\mathbf m \leftarrow \beta\mathbf m -
# \eta\nabla_\theta J(\theta)$ and $\theta \leftarrow \theta + \mathbf m$. If the gradient stays
# constant, the step size approaches a *terminal velocity*. With $\beta = 0.99$, how many times
# larger than a plain gradient-descent step $\eta\nabla_\theta J$ is it? Give a number.

# %% [raw]
# # BEGIN SOLUTION

# %%
q2 = 1 / (1 - 0.99)  # SOLUTION

# %% [markdown]
# **Explanation.** At the fixed point $\mathbf m = \beta\mathbf m - \eta\nabla J$, so
# $\mathbf m = -\eta\nabla J / (1-\beta)$: the step is $1/(1-\beta) = 100$ times the plain one.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(q2, (int, float)) and q2 > 0

# %%
# HIDDEN
from tdnn.assignments import check_number

check_number(q2, 100.0, rel_tol=1e-3, hint="Solve m = βm − η∇J for m.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3
# points: 1

# %% [markdown]
# **Question 3 (chapter 7).** What happens if you set the momentum hyperparameter too close to 1
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
q3 = "b"  # SOLUTION

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

check_choice_format(q3, "abcd")

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q3, "b", hint="How large does the terminal velocity get, and what stops the optimizer once it passes the minimum?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4
# points: 1

# %% [markdown]
# **Question 4 (chapters 7 and 9).** Which of these produce a *sparse* model (many weights exactly
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
q4 = {"a", "b", "c"}  # SOLUTION

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

check_choice_format(q4, "abcdef", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q4, {"a", "b", "c"}, hint="Three options are right; which penalties drive weights exactly to 0, and does dropout touch the weights at all?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5
# points: 1

# %% [markdown]
# **Question 5 (chapter 9).** Which statements are true? Select all that apply.
#
# - (a) Dropout slows down training: the model usually needs more epochs to converge.
# - (b) Dropout slows down inference.
# - (c) MC dropout slows down inference.
# - (d) MC dropout slows down training compared with ordinary dropout.

# %% [raw]
# # BEGIN SOLUTION

# %%
q5 = {"a", "c"}  # SOLUTION

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

check_choice_format(q5, "abcd", multiple=True)

# %%
# HIDDEN
from tdnn.assignments import check_choice_answer

check_choice_answer(q5, {"a", "c"}, hint="When is dropout active, and how does MC dropout make a prediction?")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6
# points: 2

# %% [markdown]
# **Question 6 (chapter 7).** Write one Adam update (Eq. 11-9, with bias correction):
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
# name: q7
# points: 2

# %% [markdown]
# **Question 7 (chapter 8).** Write `one_cycle_lr(t, total_steps, max_lr)`, the 1cycle learning
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
