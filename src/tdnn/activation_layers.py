"""Keras layers for the chapter's activation functions that Keras does not ship: RReLU.

HOML ch. 11 ("Leaky ReLU"): the randomized leaky ReLU (RReLU, evaluated by Xu et al., 2015) picks the
negative slope α at random in a range during training and fixes it to an average value at test time;
"there is currently no official implementation of RReLU in Keras". This module imports TensorFlow
(via :func:`tdnn._tf.import_tensorflow`); the NumPy reference math is in :mod:`tdnn.activations`.
"""

from __future__ import annotations

from typing import Any

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float, check_int

import_tensorflow()
import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["RReLU"]


@keras.saving.register_keras_serializable(package="tdnn")
class RReLU(keras.layers.Layer):
    """Randomized leaky ReLU: ``z`` if z ≥ 0, else ``a · z`` (Xu et al., 2015; HOML ch. 11).

    * Training (``training=True``): a fresh slope ``a ~ U(lower, upper)`` for every element of every
      batch, drawn with ``keras.random.uniform`` from a ``keras.random.SeedGenerator`` (so a seeded
      layer draws the same sequence of slopes in every run).
    * Inference (``training=False``, the default): the fixed mean slope ``(lower + upper) / 2``.

    The defaults ``lower=1/8``, ``upper=1/3`` are the slopes 1/a for Xu et al.'s a ∈ [3, 8] (also
    PyTorch's defaults). Note that Xu et al. divide by the *mean of a* at test time (slope 1/5.5 ≈
    0.18); this layer uses the mean *slope* (≈ 0.229), as PyTorch does.

    Args:
        lower, upper: the range of the random slope, 0 ≤ lower ≤ upper ≤ 1.
        seed: an integer seed for the layer's ``SeedGenerator`` (``None``: unseeded, but still
            reproducible after ``keras.utils.set_random_seed``).
    """

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lower = check_float("lower", lower, min_value=0.0, max_value=1.0)
        self.upper = check_float("upper", upper, min_value=0.0, max_value=1.0)
        if self.upper < self.lower:
            raise ValueError(f"upper must be >= lower, got lower={self.lower} and upper={self.upper}")
        self.seed = None if seed is None else check_int("seed", seed, min_value=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    @property
    def mean_slope(self) -> float:
        """The slope used at inference: (lower + upper) / 2."""
        return (self.lower + self.upper) / 2.0

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if training:
            slope = keras.random.uniform(
                ops.shape(inputs), minval=self.lower, maxval=self.upper, dtype=inputs.dtype, seed=self.seed_generator
            )
        else:
            slope = ops.cast(self.mean_slope, inputs.dtype)
        return ops.where(inputs >= 0, inputs, slope * inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"lower": self.lower, "upper": self.upper, "seed": self.seed})
        return config
