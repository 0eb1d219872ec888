"""The chapter's practical guidelines as data (HOML 3rd ed., ch. 11, "Summary and Practical Guidelines").

The book closes the chapter with two configuration tables that "work fine in most cases, without
requiring much hyperparameter tuning": Table 11-3, the default DNN configuration, and Table 11-4,
the configuration for a self-normalizing net (a plain stack of dense layers). They are kept here as
data so that the notebook renders them and exercises can check a configuration against them.
NumPy/pandas only: importing this module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd

__all__ = [
    "DEFAULT_DNN_CONFIG",
    "SELF_NORMALIZING_CONFIG",
    "WHEN_TO_DEVIATE",
    "DEBUG_CHECKLIST",
    "config_table",
]

HYPERPARAMETERS: tuple[str, ...] = (
    "Kernel initializer",
    "Activation function",
    "Normalization",
    "Regularization",
    "Optimizer",
    "Learning rate schedule",
)

DEFAULT_DNN_CONFIG: Mapping[str, str] = MappingProxyType(
    {
        "Kernel initializer": "He initialization",
        "Activation function": "ReLU if shallow; Swish if deep",
        "Normalization": "None if shallow; batch norm if deep",
        "Regularization": "Early stopping; weight decay if needed",
        "Optimizer": "Nesterov accelerated gradients or AdamW",
        "Learning rate schedule": "Performance scheduling or 1cycle",
    }
)
"""Table 11-3, "Default DNN configuration" (3rd edition)."""

SELF_NORMALIZING_CONFIG: Mapping[str, str] = MappingProxyType(
    {
        "Kernel initializer": "LeCun initialization",
        "Activation function": "SELU",
        "Normalization": "None (self-normalization)",
        "Regularization": "Alpha dropout if needed",
        "Optimizer": "Nesterov accelerated gradients",
        "Learning rate schedule": "Performance scheduling or 1cycle",
    }
)
"""Table 11-4, "DNN configuration for a self-normalizing net" (3rd edition)."""

WHEN_TO_DEVIATE: tuple[tuple[str, str], ...] = (
    (
        "always",
        "Normalize the input features. Reuse the lower layers of a pretrained network that "
        "solves a similar task if there is one; otherwise consider unsupervised pretraining "
        "(plenty of unlabeled data) or pretraining on an auxiliary task (plenty of labeled data "
        "for a similar task).",
    ),
    (
        "a plain stack of dense layers",
        "It can self-normalize: use the self-normalizing configuration (Table 11-4) instead.",
    ),
    (
        "you need a sparse model",
        "Use ℓ1 regularization (and optionally zero out the tiny weights after training), or the "
        "TensorFlow Model Optimization Toolkit for even sparser models. This breaks "
        "self-normalization, so use the default configuration.",
    ),
    (
        "you need low latency",
        "Use fewer layers, a fast activation (ReLU, leaky ReLU), fold the batch normalization "
        "layers into the previous layers after training, make the model sparse, and reduce the "
        "float precision (16 or even 8 bits).",
    ),
    (
        "the application is risk-sensitive (or latency does not matter)",
        "Use MC dropout: better performance, more reliable probabilities and uncertainty "
        "estimates.",
    ),
)
"""The chapter's advice on when to deviate from the two tables, paraphrased: (situation, advice)."""

DEBUG_CHECKLIST: tuple[tuple[str, str, str], ...] = (
    (
        "The loss does not move from the start (about ln 10 ≈ 2.30 for 10 classes)",
        "Vanishing gradients: compare per-layer gradient norms; switch from sigmoid/tanh with "
        "default init to ReLU-family activations with He init",
        "01_vanishing_exploding_gradients",
    ),
    (
        "Activations shrink or blow up from layer to layer",
        "Initialization does not match the activation: Glorot for tanh/sigmoid/softmax, He for "
        "ReLU and its variants, LeCun for SELU",
        "02_initialization",
    ),
    (
        "Many hidden units output 0 for every input",
        "Dying ReLUs: measure the dead-unit fraction; try leaky ReLU, ELU or a lower learning rate",
        "03_activations",
    ),
    (
        "A deep network trains slowly or is very sensitive to the learning rate",
        "Add batch normalization (or use SELU on a plain dense stack)",
        "04_batch_normalization",
    ),
    (
        "The loss jumps to inf or NaN after some steps",
        "Exploding gradients or a learning rate that is too high: log the gradient norm, clip "
        "it (global_clipnorm), lower the learning rate",
        "05_gradient_clipping",
    ),
    (
        "Too little labeled data to learn the task",
        "Reuse the lower layers of a network trained on a similar task, frozen first",
        "06_transfer_learning",
    ),
    (
        "Training progresses, but slowly",
        "Use a faster optimizer (momentum, Nesterov, Adam/AdamW) instead of plain SGD",
        "07_optimizers",
    ),
    (
        "The loss plateaus or oscillates and then diverges",
        "The learning rate is too high or never decays: find it with an LR sweep, then use a "
        "schedule (performance scheduling, 1cycle)",
        "08_lr_schedules",
    ),
    (
        "Training accuracy keeps improving while validation accuracy does not",
        "Overfitting: early stopping, ℓ2/weight decay, dropout, max-norm",
        "09_regularization",
    ),
)
"""A "network does not learn" checklist: (symptom, what to check or try, chapter notebook)."""


def config_table(*, transpose: bool = False) -> pd.DataFrame:
    """Tables 11-3 and 11-4 side by side: one row per hyperparameter, one column per configuration.

    With ``transpose=True``, one row per configuration instead.
    """
    if not isinstance(transpose, bool):
        raise TypeError(f"transpose must be a bool, got {type(transpose).__name__}")
    table = pd.DataFrame(
        {
            "Default DNN (Table 11-3)": [DEFAULT_DNN_CONFIG[h] for h in HYPERPARAMETERS],
            "Self-normalizing net (Table 11-4)": [
                SELF_NORMALIZING_CONFIG[h] for h in HYPERPARAMETERS
            ],
        },
        index=pd.Index(HYPERPARAMETERS, name="Hyperparameter"),
    )
    return table.T if transpose else table
