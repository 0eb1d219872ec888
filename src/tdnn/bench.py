"""Benchmarks of the companion itself (issue 12): `make bench` -> benchmarks/results.json + RESULTS.md.

The machine this runs on is shared and its peak varies 6x between the machines CI gets, so every
figure is a *ratio taken in one run*: achieved FLOP/s over the matmul peak measured minutes apart,
the default recipe's time over the fast recipe's, recomputed frozen layers over cached features.
Each result also records the load average and the CPU time (user + sys) next to the wall time.

This module imports no TensorFlow at import time: the FLOP counts, the ratio and time-to-target
logic, notebook timing (a fresh kernel per notebook) and the Markdown report are plain Python and
unit-tested without it. The TensorFlow measurements import it inside the function
(:func:`matmul_peak`, :func:`epoch_seconds`, :func:`time_to_accuracy`, :func:`frozen_vs_cached`).

FLOP counting (:func:`mlp_train_flops`): a dense layer with fan-in ``n`` and fan-out ``m`` applied to
a batch of ``b`` rows is one ``b x n`` by ``n x m`` matmul, ``2bnm`` FLOPs (a multiply and an add per
term). Training needs it three times: the forward product, the gradient with respect to the weights
(``X^T dY``, ``2bnm``) and the gradient with respect to the layer's input (``dY W^T``, ``2bnm``),
hence the rule of thumb ``3 x 2b sum(n m)``. The first layer's input gradient is never needed (the
images are not trained), so the count used here is ``2b (2 sum(n m) + sum_{l>1} n_l m_l)``; for
784-300-100-10 that is 0.71x the rule of thumb. Ignored: bias additions, activations, softmax and
loss (``O(b sum m)``, under 1 % here), and the optimizer's update (``O(params)`` per step).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tdnn._validate import check_float, check_int

REFERENCE_MLP = (784, 300, 100, 10)
ISA_FLAGS = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")


# ----------------------------------------------------------------------------- FLOP counts


def _check_sizes(layer_sizes: Sequence[int]) -> list[int]:
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"layer_sizes must be a sequence of ints, got {type(layer_sizes).__name__}")
    sizes = [check_int(f"layer_sizes[{i}]", s, min_value=1) for i, s in enumerate(layer_sizes)]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes must hold at least an input and an output size, got {sizes}")
    return sizes


def dense_macs(layer_sizes: Sequence[int]) -> int:
    """Multiply-accumulates of one example's forward pass through dense layers: sum of fan_in*fan_out."""
    sizes = _check_sizes(layer_sizes)
    return sum(n * m for n, m in zip(sizes[:-1], sizes[1:]))


def mlp_train_flops(
    layer_sizes: Sequence[int], n_examples: int, *, input_gradient: bool = False
) -> dict[str, int]:
    """FLOPs to train a dense MLP on ``n_examples`` (one epoch), counted analytically.

    Returns ``forward`` (``2 n sum(fan_in fan_out)``), ``backward`` (weight gradients plus the input
    gradients of every layer but the first, or of all layers if ``input_gradient``) and ``total``.
    ``rule_of_thumb`` is ``3 x forward``. See the module docstring for what is ignored.
    """
    sizes = _check_sizes(layer_sizes)
    n_examples = check_int("n_examples", n_examples, min_value=1)
    if not isinstance(input_gradient, bool):
        raise TypeError(f"input_gradient must be a bool, got {input_gradient!r}")
    macs = dense_macs(sizes)
    first = sizes[0] * sizes[1]
    forward = 2 * n_examples * macs
    backward = 2 * n_examples * (macs + (macs if input_gradient else macs - first))
    return {
        "forward": forward,
        "backward": backward,
        "total": forward + backward,
        "rule_of_thumb": 3 * forward,
    }


def matmul_flops(n: int) -> int:
    """FLOPs of an ``n x n`` by ``n x n`` matrix product: ``2 n^3``."""
    n = check_int("n", n, min_value=1)
    return 2 * n**3


# ----------------------------------------------------------------------------- ratios and times


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` for two positive measurements (raises on zero or negatives)."""
    numerator = check_float("numerator", numerator, min_value=0.0)
    denominator = check_float("denominator", denominator, min_value=0.0, min_inclusive=False)
    return numerator / denominator


def best_of(fn: Callable[[], Any], repeats: int = 5) -> float:
    """The smallest wall time of ``repeats`` calls of ``fn`` (the least disturbed run)."""
    if not callable(fn):
        raise TypeError("fn must be callable")
    repeats = check_int("repeats", repeats, min_value=1)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_to_target(
    seconds: Sequence[float], accuracies: Sequence[float], target: float
) -> float | None:
    """Cumulative seconds at the end of the first epoch whose accuracy is ``>= target`` (else None)."""
    target = check_float("target", target, min_value=0.0, max_value=1.0)
    seconds, accuracies = list(seconds), list(accuracies)
    if len(seconds) != len(accuracies):
        raise ValueError(f"seconds has {len(seconds)} epochs but accuracies has {len(accuracies)}")
    total = 0.0
    for i, (s, a) in enumerate(zip(seconds, accuracies)):
        total += check_float(f"seconds[{i}]", s, min_value=0.0)
        if a >= target:
            return total
    return None


def speedup(slow: float | None, fast: float | None, *, slow_budget: float | None = None) -> dict[str, Any]:
    """The ratio ``slow / fast`` of two times to a target, or a lower bound.

    ``slow=None`` means the slow run had not reached the target after ``slow_budget`` seconds: then
    the ratio is at least ``slow_budget / fast`` (``"bound": "lower"``).
    """
    if fast is None:
        return {"ratio": None, "bound": "none"}
    if slow is None:
        if slow_budget is None:
            raise ValueError("slow_budget is needed when the slow run did not reach the target")
        return {"ratio": ratio(slow_budget, fast), "bound": "lower"}
    return {"ratio": ratio(slow, fast), "bound": "exact"}


class CpuClock:
    """Wall and CPU time (user + sys) of this process and its finished, waited-for children."""

    def __enter__(self) -> CpuClock:
        self._wall = time.perf_counter()
        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc: Any) -> None:
        s = resource.getrusage(resource.RUSAGE_SELF)
        k = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self._wall
        self.user = (s.ru_utime - self._self.ru_utime) + (k.ru_utime - self._kids.ru_utime)
        self.sys = (s.ru_stime - self._self.ru_stime) + (k.ru_stime - self._kids.ru_stime)
        self.cpu = self.user + self.sys


# ----------------------------------------------------------------------------- the machine


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (``os.getloadavg``)."""
    return [round(v, 2) for v in os.getloadavg()]


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """CPU model, logical CPU count and the ISA flags that matter to oneDNN, from /proc/cpuinfo text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    have = set(flags.group(1).split()) if flags else set()
    return {
        "model": model.group(1).strip() if model else platform.processor() or "unknown",
        "logical_cpus": len(re.findall(r"^processor\s*:", text, re.M)) or os.cpu_count(),
        "isa_flags": [f for f in ISA_FLAGS if f in have],
    }


def cpu_info() -> dict[str, Any]:
    """:func:`parse_cpuinfo` of this machine (``/proc/cpuinfo``; the model only elsewhere)."""
    try:
        return parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        return parse_cpuinfo("")


# ----------------------------------------------------------------------------- notebooks


def cell_seconds(notebook: Mapping[str, Any]) -> list[float]:
    """Per code cell, the execution time recorded by nbclient (``record_timing``), in seconds."""
    from datetime import datetime

    out = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        ex = cell.get("metadata", {}).get("execution", {})
        start, end = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if not (start and end):
            out.append(0.0)
            continue
        t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
        t1 = datetime.fromisoformat(end.replace("Z", "+00:00"))
        out.append(max((t1 - t0).total_seconds(), 0.0))
    return out


def time_notebook(
    path: str | Path, *, src: str | Path | None = None, env: Mapping[str, str] | None = None, timeout: int = 900
) -> dict[str, Any]:
    """Execute a notebook in a fresh kernel and time it, as nbval does (one client, a kernel each).

    ``nbclient`` runs in this process and starts a new kernel (a subprocess) for the notebook, in
    the notebook's folder; the kernel is shut down and waited for before the clock stops. (Until
    2026-11-30 this ran ``jupyter nbconvert --execute``, which adds nbconvert's own start-up, about
    2.5 s per notebook, to the wall time: see RESULTS.md.)

    ``src``: a ``src`` folder put first on the kernel's ``PYTHONPATH``, so that a notebook of
    another checkout runs against that checkout's ``tdnn``. Returns wall and CPU seconds (the
    kernel included), the load average before, and the per-cell times: ``first_cell`` (the set-up
    cell: TensorFlow import) and ``overhead`` (kernel start-up and shutdown: wall minus the sum of
    the cells).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a notebook file")
    timeout = check_int("timeout", timeout, min_value=1)
    run_env = dict(os.environ)
    run_env.update(env or {})
    if src is not None:
        run_env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(src).resolve())] + ([run_env["PYTHONPATH"]] if run_env.get("PYTHONPATH") else [])
        )
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=notebook.metadata.get("kernelspec", {}).get("name", "python3"),
        record_timing=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    load = load_average()
    with tempfile.TemporaryFile("w+") as kernel_log:  # the kernel's own stderr (start-up warnings)
        try:
            with CpuClock() as clock:
                client.execute(env=run_env, stdout=subprocess.DEVNULL, stderr=kernel_log)
        except CellExecutionError as error:
            tail = "\n".join(str(error).strip().splitlines()[-5:])
            raise RuntimeError(f"executing {path.name} failed:\n{tail}") from None
        except Exception as error:  # the kernel died or did not start
            kernel_log.seek(0)
            tail = "\n".join(kernel_log.read().strip().splitlines()[-5:])
            raise RuntimeError(f"executing {path.name} failed: {error}\n{tail}") from None
    cells = cell_seconds(notebook)
    return {
        "wall": round(clock.wall, 2),
        "cpu": round(clock.cpu, 2),
        "load": load[0],
        "first_cell": round(cells[0], 2) if cells else 0.0,
        "cells": round(sum(cells), 2),
        "overhead": round(max(clock.wall - sum(cells), 0.0), 2),
        "slowest_cells": sorted(
            ({"cell": i, "seconds": round(s, 2)} for i, s in enumerate(cells)),
            key=lambda c: -c["seconds"],
        )[:3],
    }


def notebook_list(root: str | Path, *, exercises: bool = False) -> list[Path]:
    """The chapter notebooks ``notebooks/NN_*.ipynb`` of a checkout (and its exercises if asked)."""
    root = Path(root)
    found = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if exercises:
        found += sorted((root / "notebooks" / "exercises").glob("*.ipynb"))
    if not found:
        raise ValueError(f"root {str(root)!r} has no notebooks/NN_*.ipynb")
    return found


def time_notebooks(
    roots: Mapping[str, str | Path], *, exercises: bool = False, log: Callable[[str], None] = print
) -> dict[str, dict[str, Any]]:
    """Time every notebook of each checkout in ``roots`` (label -> repository root), interleaved.

    Notebook ``i`` of every checkout runs before notebook ``i + 1`` of any, so that a change in the
    machine's load hits "before" and "after" alike. Returns label -> {notebook name -> timing}.
    """
    if not roots:
        raise ValueError("roots must name at least one checkout")
    lists = {label: {p.stem: p for p in notebook_list(root, exercises=exercises)} for label, root in roots.items()}
    names = sorted(set().union(*lists.values()))
    results: dict[str, dict[str, Any]] = {label: {} for label in roots}
    for name in names:
        for label, root in roots.items():
            if name in lists[label]:
                r = time_notebook(lists[label][name], src=Path(root) / "src")
                results[label][name] = r
                log(f"  {label:>6} {name:<36} {r['wall']:7.1f} s wall {r['cpu']:7.1f} s CPU  load {r['load']}")
    return results


def summarize_notebooks(timings: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Totals of chapters and exercises: wall, CPU, set-up cells and overhead (seconds)."""
    chapters = {k: v for k, v in timings.items() if re.match(r"\d\d_", k)}
    exercises = {k: v for k, v in timings.items() if k not in chapters}
    out = {
        "chapters_wall": round(sum(v["wall"] for v in chapters.values()), 1),
        "chapters_cpu": round(sum(v["cpu"] for v in chapters.values()), 1),
    }
    if all("first_cell" in v and "overhead" in v for v in chapters.values()):  # per-cell timing known
        out["chapters_first_cells"] = round(sum(v["first_cell"] for v in chapters.values()), 1)
        out["chapters_overhead"] = round(sum(v["overhead"] for v in chapters.values()), 1)
    if exercises:
        out["exercises_wall"] = round(sum(v["wall"] for v in exercises.values()), 1)
        out["exercises_cpu"] = round(sum(v["cpu"] for v in exercises.values()), 1)
    return out


# ----------------------------------------------------------------------------- start-up


def startup_seconds(code: str, *, repeats: int = 5, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Best-of-``repeats`` wall time of ``python -c code`` in a fresh interpreter (and its CPU time)."""
    if not isinstance(code, str) or not code.strip():
        raise ValueError("code must be a non-empty Python snippet")
    repeats = check_int("repeats", repeats, min_value=1)
    run_env = dict(os.environ)
    run_env.update(env or {})
    best: dict[str, Any] = {"wall": float("inf")}
    for _ in range(repeats):
        with CpuClock() as clock:
            done = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"python -c {code!r} failed: {done.stderr.strip()[-300:]}")
        if clock.wall < best["wall"]:
            best = {"wall": round(clock.wall, 3), "cpu": round(clock.cpu, 3), "stdout": done.stdout.strip()}
    return best


# ----------------------------------------------------------------------------- TensorFlow measurements


def matmul_peak(n: int = 2048, *, repeats: int = 5) -> dict[str, float]:
    """fp32 GFLOP/s of an ``n x n`` matmul, best of ``repeats``, in TensorFlow and in NumPy."""
    n = check_int("n", n, min_value=1)
    import numpy as np

    from tdnn._tf import import_tensorflow

    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    a, b = tf.constant(a_np), tf.constant(b_np)
    tf.matmul(a, b).numpy()  # warm-up: oneDNN picks its kernel
    a_np @ b_np
    flops = matmul_flops(n)
    out: dict[str, Any] = {"n": n}
    for name, fn in [("tensorflow", lambda: tf.matmul(a, b).numpy()), ("numpy", lambda: a_np @ b_np)]:
        wall, cpu = float("inf"), float("inf")
        for _ in range(repeats):
            with CpuClock() as clock:
                fn()
            wall, cpu = min(wall, clock.wall), min(cpu, clock.cpu)
        out[name] = round(flops / wall / 1e9, 1)
        # per CPU-second (all threads): what a core delivers when it runs, whatever the load
        out[f"{name}_per_cpu_second"] = round(flops / max(cpu, 1e-9) / 1e9, 1)
    return out


def _random_images(n: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n).astype("int64")


def fit_epoch_times(model: Any, *args: Any, epochs: int, **kwargs: Any) -> list[tuple[float, float]]:
    """Wall and CPU seconds of each epoch of one ``model.fit(*args, epochs=epochs, **kwargs)`` call.

    Timed by a callback from the start to the end of each epoch: the per-epoch cost of training,
    without what ``fit`` does once per call (converting NumPy arrays to tensors, building the data
    pipeline). The first epoch also traces the train step. CPU time is this process's, all threads.
    """
    epochs = check_int("epochs", epochs, min_value=1)
    import keras

    times: list[tuple[float, float]] = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append((time.perf_counter() - self.start[0], time.process_time() - self.start[1]))

    callbacks = [*kwargs.pop("callbacks", []), EpochClock()]
    model.fit(*args, epochs=epochs, callbacks=callbacks, **kwargs)
    return times


def gathered_batches(x: Any, y: Any, batch_size: int, *, seed: int = 0) -> Any:
    """A ``tf.data.Dataset`` of ``(x[i], y[i])`` batches for shuffled index batches ``i``.

    The examples are held as two tensors; the dataset shuffles the indices ``0 .. n - 1`` (a new
    order every epoch, from ``seed``), batches them and gathers each batch at once
    (``tf.gather``), then prefetches: one copy per batch rather than one per example.
    """
    batch_size = check_int("batch_size", batch_size, min_value=1)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    from tdnn._tf import import_tensorflow

    tf = import_tensorflow()
    x_all, y_all = tf.constant(x), tf.constant(y)
    n = len(y)
    return (
        tf.data.Dataset.range(n)
        .shuffle(n, seed=seed)
        .batch(batch_size)
        .map(lambda i: (tf.gather(x_all, i), tf.gather(y_all, i)))
        .prefetch(tf.data.AUTOTUNE)
    )


def epoch_seconds(
    batch_size: int,
    *,
    steps_per_execution: int = 1,
    jit_compile: bool = False,
    pipeline: str = "arrays",
    n_examples: int = 55_000,
    repeats: int = 2,
) -> dict[str, Any]:
    """Seconds per training epoch of the reference MLP (SGD) on random images; best of ``repeats``
    epochs after the first of one ``fit`` call (:func:`fit_epoch_times`).

    ``pipeline="arrays"`` passes NumPy arrays to ``model.fit`` (what the notebooks do);
    ``"dataset"`` a cached, shuffled, batched and prefetched ``tf.data.Dataset`` of the examples;
    ``"indices"`` a ``tf.data.Dataset`` of shuffled example indices, batched, each batch gathered
    at once from the data held as two tensors (``tf.gather``), prefetched: one copy per batch
    instead of one per example. A first epoch (tracing) is run and not counted. Op determinism is
    left as the caller set it.
    """
    batch_size = check_int("batch_size", batch_size, min_value=1)
    steps_per_execution = check_int("steps_per_execution", steps_per_execution, min_value=1)
    if pipeline not in ("arrays", "dataset", "indices"):
        raise ValueError(f"pipeline must be 'arrays', 'dataset' or 'indices', got {pipeline!r}")
    from tdnn._tf import import_tensorflow

    tf = import_tensorflow()
    import keras

    from tdnn.models import build_mlp

    x, y = _random_images(n_examples)
    model = build_mlp(REFERENCE_MLP[1:-1], activation="relu", seed=0)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss="sparse_categorical_crossentropy",
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    if pipeline == "dataset":
        ds = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .cache()
            .shuffle(n_examples, seed=0)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        args, kwargs = (ds,), {"shuffle": False}  # the dataset shuffles itself
    elif pipeline == "indices":
        args, kwargs = (gathered_batches(x, y, batch_size),), {"shuffle": False}
    else:
        args, kwargs = (x, y), {"batch_size": batch_size}
    repeats = check_int("repeats", repeats, min_value=1)
    wall, cpu = min(fit_epoch_times(model, *args, epochs=1 + repeats, verbose=0, **kwargs)[1:])
    flops = mlp_train_flops(REFERENCE_MLP, n_examples)["total"]
    return {
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "jit_compile": jit_compile,
        "pipeline": pipeline,
        "epoch_seconds": round(wall, 3),
        "epoch_cpu_seconds": round(cpu, 3),
        "gflops": round(flops / wall / 1e9, 1),
        "gflops_per_cpu_second": round(flops / max(cpu, 1e-9) / 1e9, 1),
    }


def time_to_accuracy(
    recipe: str, *, target: float = 0.88, budget: float = 90.0, max_epochs: int = 40, seed: int = 0
) -> dict[str, Any]:
    """Train on full Fashion-MNIST with a recipe until validation accuracy ``>= target``.

    ``recipe="default"``: the book's plain code, ReLU 784-300-100-10 with Glorot init, SGD at 0.01,
    batch 32, ``model.fit`` on NumPy arrays. ``"fast"``: He init, no batch norm (the book's
    guidelines: none for a shallow net; here it would double the time per step), AdamW with 1cycle
    over 4 epochs (peak 0.005) as a Keras schedule (``keras_schedule("one_cycle")``, computed in
    the compiled step), batch 256, 32 batches per call.
    The clock runs from the start of ``fit`` (tracing included) to the end of the epoch that reaches
    the target, validation included; training stops there or after ``budget`` seconds.
    """
    if recipe not in ("default", "fast"):
        raise ValueError(f"recipe must be 'default' or 'fast', got {recipe!r}")
    target = check_float("target", target, min_value=0.0, max_value=1.0)
    budget = check_float("budget", budget, min_value=0.0, min_inclusive=False)
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    from tdnn.data import load_fashion_mnist
    from tdnn.models import build_mlp
    from tdnn.schedules import keras_schedule
    from tdnn.training import STEPS_PER_EXECUTION, epoch_steps

    data = load_fashion_mnist()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()

    class Stop(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.wall: list[float] = []
            self.acc: list[float] = []

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.wall.append(time.perf_counter() - start)
            self.acc.append(float(logs["val_accuracy"]))
            if self.acc[-1] >= target or self.wall[-1] >= budget:
                self.model.stop_training = True

    stop = Stop()
    if recipe == "default":
        model = build_mlp((300, 100), activation="relu", seed=seed)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        batch, epochs, callbacks = 32, max_epochs, [stop]
    else:
        batch, epochs = 256, 4
        model = build_mlp((300, 100), activation="relu", kernel_initializer="he_normal", seed=seed)
        steps = epochs * epoch_steps(len(data.train.y), batch)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=keras_schedule("one_cycle", total_steps=steps, max_lr=0.005), weight_decay=1e-4
            ),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=STEPS_PER_EXECUTION,
        )
        callbacks = [stop]
    with CpuClock() as clock:
        start = time.perf_counter()
        model.fit(*data.train, validation_data=tuple(data.valid), epochs=epochs, batch_size=batch, callbacks=callbacks, verbose=0)
    seconds = [b - a for a, b in zip([0.0, *stop.wall[:-1]], stop.wall)]
    t = time_to_target(seconds, stop.acc, target)
    return {
        "recipe": recipe,
        "seconds_to_target": None if t is None else round(t, 2),
        "epochs": len(stop.acc),
        "val_accuracy": [round(a, 4) for a in stop.acc],
        "wall": round(clock.wall, 2),
        "cpu": round(clock.cpu, 2),
    }


def frozen_vs_cached(
    *,
    base_units: Sequence[int] = (1000, 1000, 1000, 1000),
    batch_size: int = 400,
    steps_per_execution: int = 32,
    n_examples: int = 55_000,
    repeats: int = 3,
) -> dict[str, Any]:
    """Per-epoch time training a softmax top on a frozen deep base: recomputed vs cached features.

    The base is a dense ReLU stack (``base_units``) on 28x28 images, frozen; the top is
    ``Dense(100, relu) -> Dense(10, softmax)``. "recomputed" trains base+top with the base frozen
    (its forward pass runs at every step); "cached" runs the base once
    (:func:`tdnn.transfer.cached_features`, timed separately) and trains the top alone. Best of
    ``repeats`` epochs after a first (tracing) epoch of one ``fit`` call
    (:func:`fit_epoch_times`), batch ``batch_size``, Adam, both compiled
    with ``steps_per_execution`` (32: what :func:`tdnn.training.fit` uses).
    """
    steps_per_execution = check_int("steps_per_execution", steps_per_execution, min_value=1)
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    from tdnn.transfer import cached_features

    x, y = _random_images(n_examples, seed=1)
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten()] + [keras.layers.Dense(u, activation="relu") for u in base_units]
    )
    base.trainable = False

    def top() -> keras.Sequential:
        return keras.Sequential(
            [keras.Input((base_units[-1],)), keras.layers.Dense(100, activation="relu"), keras.layers.Dense(10, activation="softmax")]
        )

    full = keras.Sequential([base, top()])
    full.compile(optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=steps_per_execution)
    head = top()
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=steps_per_execution)

    def per_epoch(model: Any, inputs: Any) -> tuple[float, float]:
        return min(fit_epoch_times(model, inputs, y, batch_size=batch_size, epochs=1 + repeats, verbose=0)[1:])

    recomputed = per_epoch(full, x)
    with CpuClock() as cache_clock:
        features = cached_features(base, x)
    cached = per_epoch(head, features)
    return {
        "base": [784, *base_units],
        "top": [base_units[-1], 100, 10],
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "recomputed_epoch_seconds": round(recomputed[0], 3),
        "cached_epoch_seconds": round(cached[0], 3),
        "recomputed_epoch_cpu": round(recomputed[1], 3),
        "cached_epoch_cpu": round(cached[1], 3),
        "caching_seconds": round(cache_clock.wall, 3),
        "speedup": round(ratio(recomputed[0], cached[0]), 2),
        "cpu_speedup": round(ratio(recomputed[1], cached[1]), 2),
    }


# ----------------------------------------------------------------------------- the report


def _fmt(v: Any, spec: str = ".1f", unit: str = "") -> str:
    return "–" if v is None else f"{v:{spec}}{unit}"


def notebook_table(notebooks: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown table: one row per notebook, wall and CPU seconds per checkout label, and after/before."""
    if not notebooks:
        raise ValueError("notebooks must hold at least one checkout's timings")
    labels = list(notebooks)
    names = sorted(set().union(*(set(v) for v in notebooks.values())))
    head = ["notebook"] + [f"{lab} wall (CPU) s" for lab in labels]
    both = "before" in notebooks and "after" in notebooks
    if both:
        head.append("after/before (CPU)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    n_chapters = len([n for n in names if re.match(r"\d\d_", n)])
    rows = names + [f"**all {n_chapters} chapters**"]
    for name in rows:
        cells = [name]
        vals = {}
        for lab in labels:
            if name.startswith("**"):
                s = summarize_notebooks(notebooks[lab])
                w, c = s["chapters_wall"], s["chapters_cpu"]
            else:
                t = notebooks[lab].get(name)
                w, c = (t["wall"], t["cpu"]) if t else (None, None)
            vals[lab] = (w, c)
            cells.append("–" if w is None else f"{w:.1f} ({c:.1f})")
        if both:
            b, a = vals["before"], vals["after"]
            cells.append(f"{a[1] / b[1]:.2f}" if a[1] and b[1] else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_table(timings: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of where one checkout's notebooks spend their time.

    Per notebook: wall, the set-up cell (TensorFlow import), the overhead outside cells (kernel
    start-up and shutdown) and the slowest cells (code-cell index: seconds).
    """
    if not timings:
        raise ValueError("timings must hold at least one notebook")
    lines = [
        "| notebook | wall s | set-up cell s | outside cells s | slowest cells (index: s) |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(timings):
        t = timings[name]
        slow = ", ".join(f"{c['cell']}: {c['seconds']:.1f}" for c in t.get("slowest_cells", []))
        lines.append(f"| {name} | {t['wall']:.1f} | {t['first_cell']:.1f} | {t['overhead']:.1f} | {slow} |")
    return "\n".join(lines)


def results_markdown(results: Mapping[str, Any]) -> str:
    """The figures of a results dict (as written to results.json) as a Markdown summary."""
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping, got {type(results).__name__}")
    out = []
    m = results.get("machine", {})
    if m:
        out.append(
            f"Machine: {m.get('cpu', {}).get('model', '?')}, {m.get('cpu', {}).get('logical_cpus', '?')} "
            f"logical CPUs, ISA flags {', '.join(m.get('cpu', {}).get('isa_flags', []))}; load average "
            f"{m.get('load_start')} at the start, {m.get('load_end')} at the end; {results.get('date', '')}."
        )
        out.append("")
    nb = results.get("notebooks")
    if nb:
        out += ["### 1. Whole-book execution (fresh kernel per notebook)", "", notebook_table(nb), ""]
        for label in nb:
            if all("first_cell" in t for t in nb[label].values()):
                out += [f"Where the time goes ({label}):", "", profile_table(nb[label]), ""]
    thr = results.get("throughput")
    if thr:
        peak = thr["peak_gflops"]
        out += [
            "### 2. Training throughput of the 784-300-100-10 MLP",
            "",
            f"fp32 matmul peak in this run: {peak:.1f} GFLOP/s (best of TensorFlow and NumPy, "
            f"n = {thr['peak']['n']}: TF {thr['peak']['tensorflow']}, NumPy {thr['peak']['numpy']}; "
            f"repeated at the end: {thr.get('peak_end', {}).get('tensorflow', '–')} TF).",
            "",
            "Per CPU-second (FLOPs over the CPU time of all threads, which a busy machine inflates "
            "far less than wall time): matmul peak "
            f"{_fmt(thr.get('peak_gflops_per_cpu_second'), '.1f')} GFLOP per CPU-second.",
            "",
            "| recipe | batch | steps/exec | XLA | pipeline | s/epoch | CPU s/epoch | GFLOP/s | % of peak | % of peak per CPU-s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in thr["runs"]:
            cpu_frac = r.get("fraction_of_cpu_peak")
            out.append(
                f"| {r.get('label', '')} | {r['batch_size']} | {r['steps_per_execution']} | "
                f"{'yes' if r['jit_compile'] else 'no'} | {r['pipeline']} | {r['epoch_seconds']:.2f} | "
                f"{r['epoch_cpu_seconds']:.2f} | {r['gflops']:.1f} | {100 * r['fraction_of_peak']:.0f} % | "
                f"{'–' if cpu_frac is None else f'{100 * cpu_frac:.0f} %'} |"
            )
        out.append("")
    tta = results.get("time_to_88")
    if tta:
        d, f, s = tta["default"], tta["fast"], tta["speedup"]
        bound = "≥ " if s["bound"] == "lower" else ""
        out += [
            "### 3. Time to 88 % validation accuracy (full Fashion-MNIST)",
            "",
            "| recipe | seconds to 88 % | epochs | wall | CPU |",
            "|---|---|---|---|---|",
            f"| default (SGD 0.01, batch 32) | {_fmt(d['seconds_to_target'], '.1f')} | {d['epochs']} | {d['wall']:.1f} | {d['cpu']:.1f} |",
            f"| fast (He, no BN, AdamW + 1cycle in the step, batch 256) | {_fmt(f['seconds_to_target'], '.1f')} | {f['epochs']} | {f['wall']:.1f} | {f['cpu']:.1f} |",
            "",
            f"Speed-up: {bound}{_fmt(s['ratio'], '.1f', '×')} in wall time"
            + (
                f", {'≥ ' if tta['cpu_speedup']['bound'] == 'lower' else ''}"
                f"{_fmt(tta['cpu_speedup']['ratio'], '.1f', '×')} in CPU time."
                if "cpu_speedup" in tta
                else "."
            ),
            "",
        ]
    fr = results.get("frozen")
    if fr:
        out += [
            "### 4. Cached frozen layers",
            "",
            f"Base {'-'.join(map(str, fr['base']))} frozen, top {'-'.join(map(str, fr['top']))}, batch "
            f"{fr['batch_size']}, {fr.get('steps_per_execution', 1)} steps per execution: {fr['recomputed_epoch_seconds']:.2f} s/epoch recomputed vs "
            f"{fr['cached_epoch_seconds']:.2f} s/epoch cached: **{fr['speedup']:.1f}×** in wall time, "
            f"{_fmt(fr.get('cpu_speedup'), '.1f', '×')} in CPU time ({fr.get('recomputed_epoch_cpu', 0):.2f} vs "
            f"{fr.get('cached_epoch_cpu', 0):.2f} s); caching once: {fr['caching_seconds']:.2f} s.",
            "",
        ]
    st = results.get("startup")
    if st:
        out += [
            "### 5. Start-up",
            "",
            f"- `import tdnn` (fresh interpreter, best of {st['repeats']}): {st['import_tdnn']['wall']:.2f} s wall, "
            f"{st['import_tdnn'].get('cpu', 0):.2f} s CPU; TensorFlow imported: {st['import_tdnn']['stdout']}",
            f"- `from tdnn import setup_notebook; setup_notebook()` (TF import, best of "
            f"{st.get('setup_repeats', 2)}): {st['setup_notebook']['wall']:.2f} s wall, "
            f"{st['setup_notebook'].get('cpu', 0):.2f} s CPU",
            f"- a notebook with only that first cell, fresh kernel (nbclient): "
            f"{st['first_cell_notebook']['wall']:.2f} s wall, {st['first_cell_notebook'].get('cpu', 0):.2f} s CPU "
            f"(the cell itself {st['first_cell_notebook'].get('first_cell', 0):.2f} s)",
            "",
        ]
    return "\n".join(out)


def plot_notebook_times(notebooks: Mapping[str, Mapping[str, Mapping[str, Any]]], path: str | Path) -> None:
    """Bar chart of per-notebook wall and CPU seconds, one bar group per checkout label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(notebooks)
    names = sorted(set().union(*(set(v) for v in notebooks.values())))
    idx = np.arange(len(names))
    height = 0.8 / len(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, key in zip(axes, ["wall", "cpu"]):
        for j, lab in enumerate(labels):
            vals = [notebooks[lab].get(n, {}).get(key, 0.0) for n in names]
            ax.barh(idx + j * height, vals, height, label=f"{lab} (all: {sum(vals):.0f} s)")
        ax.set_yticks(idx + height * (len(labels) - 1) / 2, [n.replace("_", " ") for n in names], fontsize=9)
        ax.set_xlabel(f"{'wall' if key == 'wall' else 'CPU (user + sys)'} time (s)")
        ax.set_title(f"Per-notebook execution, {'wall clock' if key == 'wall' else 'CPU time'}")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")  # beside chapters 1-2, the shortest
    axes[0].invert_yaxis()  # chapter 1 at the top (the axes share y)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


FIGURES_START = "<!-- figures: written by make bench, do not edit -->"
FIGURES_END = "<!-- end of figures -->"


def insert_figures(report: str, figures: str) -> str:
    """``report`` with the text between the figure markers replaced by ``figures``.

    A report without the markers (or an empty one) gets a title and the marked figures appended,
    so the hand-written rest of RESULTS.md survives every ``make bench``.
    """
    if not isinstance(report, str) or not isinstance(figures, str):
        raise TypeError("report and figures must be str")
    block = f"{FIGURES_START}\n{figures.strip()}\n{FIGURES_END}"
    start, end = report.find(FIGURES_START), report.find(FIGURES_END)
    if start == -1 or end < start:
        head = report.rstrip() or "# Benchmarks"
        return f"{head}\n\n{block}\n"
    return report[:start] + block + report[end + len(FIGURES_END) :]


def write_json(results: Mapping[str, Any], path: str | Path) -> None:
    """Write ``results`` as indented JSON."""
    Path(path).write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def collect(
    *,
    root: str | Path,
    before: str | Path | None = None,
    exercises: bool = False,
    parts: Iterable[str] = ("notebooks", "throughput", "time_to_88", "frozen", "startup"),
    log: Callable[[str], None] = print,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmarks named in ``parts`` and return the results dict (see benchmarks/run.py).

    ``checkpoint(results)`` is called after each part, so a long run that is interrupted keeps
    what it measured.
    """
    parts = list(parts)
    unknown = set(parts) - {"notebooks", "throughput", "time_to_88", "frozen", "startup"}
    if unknown:
        raise ValueError(f"parts has unknown benchmarks: {sorted(unknown)}")
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpu": cpu_info(), "python": platform.python_version(), "load_start": load_average()},
    }
    if "startup" in parts:  # first: nothing of ours has imported TensorFlow yet
        log("start-up")
        results["startup"] = startup_seconds_all(root)
        if checkpoint:
            checkpoint(results)
    if "notebooks" in parts:
        log("notebooks (fresh kernel each)")
        roots = {"after": root} if before is None else {"before": before, "after": root}
        results["notebooks"] = time_notebooks(roots, exercises=exercises, log=log)
        results["notebook_totals"] = {k: summarize_notebooks(v) for k, v in results["notebooks"].items()}
        if checkpoint:
            checkpoint(results)
    if "throughput" in parts:
        log("throughput")
        results["throughput"] = throughput_runs(log=log)
        if checkpoint:
            checkpoint(results)
    if "time_to_88" in parts:
        log("time to 88 %")
        default = time_to_accuracy("default")
        fast = time_to_accuracy("fast")
        results["time_to_88"] = {
            "default": default,
            "fast": fast,
            "default_budget": 90.0,
            "speedup": speedup(default["seconds_to_target"], fast["seconds_to_target"], slow_budget=default["wall"]),
            # both runs stop at the target (or the default at its budget): their CPU times compare too
            "cpu_speedup": speedup(
                default["cpu"] if default["seconds_to_target"] is not None else None,
                fast["cpu"] if fast["seconds_to_target"] is not None else None,
                slow_budget=default["cpu"],
            ),
        }
        if checkpoint:
            checkpoint(results)
    if "frozen" in parts:
        log("cached frozen layers")
        results["frozen"] = frozen_vs_cached()
        if checkpoint:
            checkpoint(results)
    results["machine"]["load_end"] = load_average()
    return results


def startup_seconds_all(root: str | Path, repeats: int = 5) -> dict[str, Any]:
    """Start-up figures: ``import tdnn`` without TF, the set-up cell with TF, a one-cell notebook."""
    import nbformat

    env = {"PYTHONPATH": str(Path(root, "src").resolve())}
    out: dict[str, Any] = {"repeats": repeats}
    out["import_tdnn"] = startup_seconds("import sys, tdnn; print('tensorflow' in sys.modules)", repeats=repeats, env=env)
    out["setup_repeats"] = max(repeats // 2, 1)
    out["setup_notebook"] = startup_seconds(
        "from tdnn import setup_notebook; setup_notebook()", repeats=out["setup_repeats"], env=env
    )
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("from tdnn import setup_notebook\n\nprofile = setup_notebook()")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = Path(tmp) / "first_cell.ipynb"
        nbformat.write(nb, path)
        runs = [time_notebook(path, src=Path(root) / "src") for _ in range(2)]
    out["first_cell_notebook"] = min(runs, key=lambda r: r["wall"])
    return out


def throughput_runs(log: Callable[[str], None] = print) -> dict[str, Any]:
    """Epoch times of the reference MLP for the default and the fastest recipes, over the peak."""
    peak = matmul_peak(2048)
    configs = [
        ("default (batch 32)", dict(batch_size=32)),
        ("batch 32, 32 steps/exec (tdnn fit)", dict(batch_size=32, steps_per_execution=32)),
        ("batch 256", dict(batch_size=256)),
        ("batch 1024, 8 steps/exec", dict(batch_size=1024, steps_per_execution=8)),
        ("batch 2048, 4 steps/exec, tf.data", dict(batch_size=2048, steps_per_execution=4, pipeline="dataset")),
        ("batch 4096, 14 steps/exec, tf.data gather", dict(batch_size=4096, steps_per_execution=14, pipeline="indices")),
        ("batch 8192, 7 steps/exec, tf.data gather", dict(batch_size=8192, steps_per_execution=7, pipeline="indices")),
        ("batch 1024, 8 steps/exec, XLA", dict(batch_size=1024, steps_per_execution=8, jit_compile=True)),
    ]
    runs = []
    for label, cfg in configs:
        r = epoch_seconds(**cfg)
        r["label"] = label
        runs.append(r)
        log(f"  {label:<42} {r['epoch_seconds']:6.2f} s/epoch {r['gflops']:6.1f} GFLOP/s")
    peak_end = matmul_peak(2048)
    best_peak = max(peak["tensorflow"], peak["numpy"], peak_end["tensorflow"], peak_end["numpy"])
    best_cpu_peak = max(
        p.get(f"{lib}_per_cpu_second", 0.0) for p in (peak, peak_end) for lib in ("tensorflow", "numpy")
    )
    for r in runs:
        r["fraction_of_peak"] = round(r["gflops"] / best_peak, 3)
        r["fraction_of_cpu_peak"] = round(r["gflops_per_cpu_second"] / best_cpu_peak, 3)
    fastest = max(runs, key=lambda r: r["gflops"])
    return {
        "peak": peak,
        "peak_end": peak_end,
        "peak_gflops": best_peak,
        "peak_gflops_per_cpu_second": best_cpu_peak,
        "flops_per_epoch": mlp_train_flops(REFERENCE_MLP, 55_000),
        "runs": runs,
        "default_fraction": runs[0]["fraction_of_peak"],
        "fastest": fastest["label"],
        "fastest_fraction": fastest["fraction_of_peak"],
    }
