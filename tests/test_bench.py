"""tdnn.bench: FLOP counts, timing ratios, notebook timing parsing and the results report (issue 12).

The TensorFlow measurements themselves run in `make bench`, not here; only a tiny smoke run of
each keeps them from rotting.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdnn import bench


# --- FLOP counts ---------------------------------------------------------------------------------


def test_reference_mlp_macs_and_flops_by_hand() -> None:
    assert bench.dense_macs((784, 300, 100, 10)) == 784 * 300 + 300 * 100 + 100 * 10 == 266_200
    f = bench.mlp_train_flops((784, 300, 100, 10), 1)
    assert f["forward"] == 2 * 266_200
    # weight gradients of all three layers, input gradients of layers 2 and 3 only
    assert f["backward"] == 2 * 266_200 + 2 * (300 * 100 + 100 * 10)
    assert f["total"] == f["forward"] + f["backward"]
    assert f["rule_of_thumb"] == 3 * 2 * 266_200
    assert 0.70 < f["total"] / f["rule_of_thumb"] < 0.72


@given(
    sizes=st.lists(st.integers(1, 500), min_size=2, max_size=6),
    n=st.integers(1, 10_000),
)
def test_flops_are_linear_in_examples_and_bounded_by_the_rule(sizes, n) -> None:
    one = bench.mlp_train_flops(sizes, 1)
    many = bench.mlp_train_flops(sizes, n)
    assert all(many[k] == n * one[k] for k in one)
    full = bench.mlp_train_flops(sizes, n, input_gradient=True)
    assert full["total"] == full["rule_of_thumb"]  # counting every input gradient gives exactly 3x
    assert 2 * many["forward"] <= many["total"] <= many["rule_of_thumb"]


def test_matmul_flops() -> None:
    assert bench.matmul_flops(2) == 16
    assert bench.matmul_flops(2048) == 2 * 2048**3


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: bench.dense_macs([784]), ValueError, "layer_sizes"),
        (lambda: bench.dense_macs("784"), TypeError, "layer_sizes"),
        (lambda: bench.dense_macs([784, 0]), ValueError, r"layer_sizes\[1\]"),
        (lambda: bench.mlp_train_flops([4, 2], 0), ValueError, "n_examples"),
        (lambda: bench.mlp_train_flops([4, 2], 1, input_gradient=1), TypeError, "input_gradient"),
        (lambda: bench.matmul_flops(0), ValueError, "n"),
        (lambda: bench.ratio(1.0, 0.0), ValueError, "denominator"),
        (lambda: bench.ratio(-1.0, 1.0), ValueError, "numerator"),
        (lambda: bench.best_of(3), TypeError, "fn"),
        (lambda: bench.best_of(lambda: None, 0), ValueError, "repeats"),
        (lambda: bench.time_to_target([1.0], [0.5, 0.6], 0.9), ValueError, "seconds"),
        (lambda: bench.time_to_target([1.0], [0.5], 1.5), ValueError, "target"),
        (lambda: bench.time_to_target([-1.0], [0.5], 0.9), ValueError, r"seconds\[0\]"),
        (lambda: bench.speedup(None, 2.0), ValueError, "slow_budget"),
        (lambda: bench.parse_cpuinfo(None), TypeError, "text"),
        (lambda: bench.startup_seconds(""), ValueError, "code"),
        (lambda: bench.time_notebook("no/such.ipynb"), ValueError, "path"),
        (lambda: bench.notebook_list("/nonexistent"), ValueError, "root"),
        (lambda: bench.time_notebooks({}), ValueError, "roots"),
        (lambda: bench.notebook_table({}), ValueError, "notebooks"),
        (lambda: bench.results_markdown([]), TypeError, "results"),
        (lambda: bench.epoch_seconds(32, pipeline="csv"), ValueError, "pipeline"),
        (lambda: bench.time_to_accuracy("slow"), ValueError, "recipe"),
        (lambda: bench.collect(root=".", parts=["nope"]), ValueError, "parts"),
    ],
)
def test_bad_arguments_are_named(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


# --- ratios and times ------------------------------------------------------------------------------


def test_time_to_target_is_the_cumulative_time_of_the_first_epoch_that_reaches_it() -> None:
    assert bench.time_to_target([2.0, 1.0, 1.5, 1.0], [0.80, 0.87, 0.88, 0.90], 0.88) == pytest.approx(4.5)
    assert bench.time_to_target([2.0, 1.0], [0.80, 0.87], 0.88) is None
    assert bench.time_to_target([3.0], [0.95], 0.88) == 3.0


def test_speedup_exact_lower_bound_and_missing() -> None:
    assert bench.speedup(30.0, 3.0) == {"ratio": 10.0, "bound": "exact"}
    assert bench.speedup(None, 4.0, slow_budget=90.0) == {"ratio": 22.5, "bound": "lower"}
    assert bench.speedup(30.0, None) == {"ratio": None, "bound": "none"}


def test_best_of_takes_the_smallest_time() -> None:
    calls = iter([0.02, 0.0, 0.01])
    import time

    assert bench.best_of(lambda: time.sleep(next(calls)), 3) < 0.01


def test_cpu_clock_counts_a_child_process() -> None:
    with bench.CpuClock() as clock:
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert clock.wall > 0 and clock.cpu > 0.05
    assert clock.cpu == pytest.approx(clock.user + clock.sys)


# --- the machine -----------------------------------------------------------------------------------

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512_bf16 other
processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512_bf16 other
"""


def test_parse_cpuinfo() -> None:
    info = bench.parse_cpuinfo(CPUINFO)
    assert info["model"] == "AMD EPYC 9R14 96-Core Processor"
    assert info["logical_cpus"] == 2
    assert info["isa_flags"] == ["sse4_1", "avx", "avx2", "fma", "avx512f", "avx512_bf16"]
    assert bench.parse_cpuinfo("flags : sse4_1")["isa_flags"] == ["sse4_1"]


def test_load_average_has_three_numbers() -> None:
    load = bench.load_average()
    assert len(load) == 3 and all(v >= 0 for v in load)


# --- notebooks ---------------------------------------------------------------------------------------


def _cell(start: str | None, end: str | None, kind: str = "code") -> dict:
    ex = {}
    if start:
        ex = {"iopub.execute_input": start, "shell.execute_reply": end}
    return {"cell_type": kind, "metadata": {"execution": ex}, "source": ""}


def test_cell_seconds_reads_nbclient_timing() -> None:
    nb = {
        "cells": [
            _cell("2026-01-01T10:00:00.000000Z", "2026-01-01T10:00:04.500000Z"),
            {"cell_type": "markdown", "metadata": {}, "source": ""},
            _cell("2026-01-01T10:00:05.000000Z", "2026-01-01T10:00:05.250000Z"),
            _cell(None, None),
        ]
    }
    assert bench.cell_seconds(nb) == pytest.approx([4.5, 0.25, 0.0])


def _timing(wall: float, cpu: float) -> dict:
    return {"wall": wall, "cpu": cpu, "load": 1.0, "first_cell": 5.0, "cells": wall - 3, "overhead": 3.0}


def test_summaries_and_table_separate_chapters_and_exercises() -> None:
    before = {"01_a": _timing(60.0, 90.0), "02_b": _timing(40.0, 50.0), "ex01_x": _timing(20.0, 25.0)}
    after = {"01_a": _timing(30.0, 45.0), "02_b": _timing(40.0, 50.0), "ex01_x": _timing(20.0, 25.0)}
    s = bench.summarize_notebooks(before)
    assert s["chapters_wall"] == 100.0 and s["chapters_cpu"] == 140.0
    assert s["chapters_first_cells"] == 10.0 and s["chapters_overhead"] == 6.0
    assert s["exercises_wall"] == 20.0
    table = bench.notebook_table({"before": before, "after": after})
    lines = table.splitlines()
    assert lines[0].startswith("| notebook | before wall (CPU) s | after wall (CPU) s | after/before")
    assert "| 01_a | 60.0 (90.0) | 30.0 (45.0) | 0.50 |" in lines
    assert "| **all 2 chapters** | 100.0 (140.0) | 70.0 (95.0) | 0.68 |" in lines
    # one checkout only: no ratio column
    assert "after/before" not in bench.notebook_table({"after": after})
    # timings without per-cell data (rebuilt from a log): totals only, no profile
    bare = {k: {"wall": v["wall"], "cpu": v["cpu"]} for k, v in before.items()}
    assert bench.summarize_notebooks(bare) == {"chapters_wall": 100.0, "chapters_cpu": 140.0, "exercises_wall": 20.0, "exercises_cpu": 25.0}
    assert "Where the time goes" not in bench.results_markdown({"notebooks": {"before": bare}})


def test_profile_table() -> None:
    t = {**_timing(60.0, 90.0), "slowest_cells": [{"cell": 4, "seconds": 30.0}, {"cell": 2, "seconds": 9.5}]}
    table = bench.profile_table({"01_a": t})
    assert "| 01_a | 60.0 | 5.0 | 3.0 | 4: 30.0, 2: 9.5 |" in table.splitlines()
    with pytest.raises(ValueError, match="timings"):
        bench.profile_table({})


def test_notebook_list(tmp_path) -> None:
    (tmp_path / "notebooks" / "exercises").mkdir(parents=True)
    for name in ["02_b.ipynb", "01_a.ipynb", "intro.ipynb", "01_a.py", "exercises/ex01.ipynb"]:
        (tmp_path / "notebooks" / name).write_text("{}")
    assert [p.name for p in bench.notebook_list(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]
    assert [p.name for p in bench.notebook_list(tmp_path, exercises=True)][-1] == "ex01.ipynb"


def test_time_notebook_runs_a_fresh_kernel_with_the_given_src(tmp_path) -> None:
    import nbformat

    src = tmp_path / "src" / "probe_pkg"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("WHERE = 'the other checkout'\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import probe_pkg\nprint(probe_pkg.WHERE)"), nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    r = bench.time_notebook(path, src=tmp_path / "src")  # fails unless the kernel sees src
    assert r["wall"] > 0 and r["cpu"] > 0
    assert r["wall"] >= r["cells"] and r["overhead"] >= 0
    assert len(r["slowest_cells"]) == 2
    bad = nbformat.v4.new_notebook()
    bad.cells = [nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    bad.metadata["kernelspec"] = nb.metadata["kernelspec"]
    nbformat.write(bad, tmp_path / "bad.ipynb")
    with pytest.raises(RuntimeError, match="bad.ipynb"):
        bench.time_notebook(tmp_path / "bad.ipynb")


def test_startup_seconds_reports_the_output() -> None:
    r = bench.startup_seconds("print(6 * 7)", repeats=2)
    assert r["stdout"] == "42" and r["wall"] > 0
    with pytest.raises(RuntimeError, match="failed"):
        bench.startup_seconds("raise SystemExit(3)", repeats=1)


def test_module_does_not_import_tensorflow() -> None:
    code = "import sys, tdnn.bench; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- the report ----------------------------------------------------------------------------------------


def _results() -> dict:
    return {
        "date": "2026-11-29 20:00 UTC",
        "machine": {"cpu": bench.parse_cpuinfo(CPUINFO), "load_start": [4.0, 3.0, 2.0], "load_end": [5.0, 4.0, 3.0]},
        "notebooks": {"before": {"01_a": _timing(60.0, 90.0)}, "after": {"01_a": _timing(30.0, 45.0)}},
        "throughput": {
            "peak": {"n": 2048, "tensorflow": 200.0, "numpy": 180.0},
            "peak_end": {"n": 2048, "tensorflow": 190.0, "numpy": 170.0},
            "peak_gflops": 200.0,
            "runs": [
                {"label": "default (batch 32)", "batch_size": 32, "steps_per_execution": 1, "jit_compile": False,
                 "pipeline": "arrays", "epoch_seconds": 2.5, "epoch_cpu_seconds": 3.0, "gflops": 24.8,
                 "fraction_of_peak": 0.124},
            ],
        },
        "time_to_88": {
            "default": {"seconds_to_target": None, "epochs": 20, "wall": 90.5, "cpu": 120.0},
            "fast": {"seconds_to_target": 8.0, "epochs": 3, "wall": 8.0, "cpu": 12.0},
            "speedup": bench.speedup(None, 8.0, slow_budget=90.5),
            "cpu_speedup": bench.speedup(None, 12.0, slow_budget=120.0),
        },
        "frozen": {"base": [784, 1000], "top": [1000, 100, 10], "batch_size": 128, "recomputed_epoch_seconds": 5.0,
                   "cached_epoch_seconds": 0.5, "caching_seconds": 1.0, "speedup": 10.0},
        "startup": {"repeats": 5, "import_tdnn": {"wall": 0.2, "stdout": "False"},
                    "setup_notebook": {"wall": 4.0}, "first_cell_notebook": {"wall": 6.0}},
    }


def test_results_markdown_reports_every_figure() -> None:
    md = bench.results_markdown(_results())
    assert "AMD EPYC 9R14" in md and "avx512f" in md and "[4.0, 3.0, 2.0]" in md
    assert "| 01_a | 60.0 (90.0) | 30.0 (45.0) | 0.50 |" in md
    assert "| default (batch 32) | 32 | 1 | no | arrays | 2.50 | 3.00 | 24.8 | 12 % | – |" in md
    assert "Speed-up: ≥ 11.3× in wall time, ≥ 10.0× in CPU time." in md  # lower bounds: no 88 % for the default
    assert "**10.0×**" in md
    assert "`import tdnn`" in md and "0.20 s" in md
    json.dumps(_results())  # what results.json holds is JSON


def test_plot_notebook_times(tmp_path) -> None:
    path = tmp_path / "times.png"
    bench.plot_notebook_times(_results()["notebooks"], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_insert_figures_keeps_the_hand_written_text() -> None:
    first = bench.insert_figures("", "| a |")
    assert first.startswith("# Benchmarks\n") and "| a |" in first
    report = "# Title\n\nmethod\n\n" + first.split("\n", 2)[2] + "\ndiscussion\n"
    again = bench.insert_figures(report, "| b |")
    assert "| a |" not in again and "| b |" in again
    assert again.startswith("# Title\n\nmethod") and again.endswith("discussion\n")
    assert bench.insert_figures(again, "| b |") == again  # idempotent
    with pytest.raises(TypeError, match="report"):
        bench.insert_figures(None, "x")


def test_fit_epoch_times_times_each_epoch_of_one_fit_call() -> None:
    import keras

    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((64, 3), np.float32), np.zeros(64, np.float32)
    times = bench.fit_epoch_times(model, x, y, epochs=3, batch_size=16, verbose=0, callbacks=[Count()])
    assert len(times) == 3 and seen == [0, 1, 2]  # the caller's callbacks still run
    assert all(wall > 0 and cpu >= 0 for wall, cpu in times)
    assert len(model.history.history["loss"]) == 3  # one fit call of three epochs
    with pytest.raises(ValueError, match="epochs"):
        bench.fit_epoch_times(model, x, y, epochs=0)


def test_gathered_batches_visit_every_example_once_per_epoch() -> None:
    x = np.arange(23 * 4, dtype=np.float32).reshape(23, 2, 2)
    y = np.arange(23)
    ds = bench.gathered_batches(x, y, 5, seed=1)
    orders = []
    for _ in range(2):
        batches = list(ds.as_numpy_iterator())
        assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
        order = np.concatenate([b[1] for b in batches])
        assert sorted(order) == list(range(23))
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x[order])
        orders.append(order)
    assert not np.array_equal(*orders)  # a new order each epoch
    with pytest.raises(ValueError, match="y has 3"):
        bench.gathered_batches(x, y[:3], 5)
    with pytest.raises(ValueError, match="batch_size"):
        bench.gathered_batches(x, y, 0)


def test_tensorflow_measurements_run_at_a_tiny_size() -> None:
    peak = bench.matmul_peak(64, repeats=1)
    assert peak["n"] == 64 and peak["tensorflow"] > 0 and peak["numpy"] > 0
    assert peak["tensorflow_per_cpu_second"] > 0 and peak["numpy_per_cpu_second"] > 0
    r = bench.epoch_seconds(64, steps_per_execution=4, n_examples=512, repeats=1)
    assert r["epoch_seconds"] > 0 and r["gflops"] > 0 and r["steps_per_execution"] == 4
    assert r["gflops_per_cpu_second"] > 0
    d = bench.epoch_seconds(128, pipeline="dataset", n_examples=512, repeats=1)
    assert d["pipeline"] == "dataset" and d["epoch_seconds"] > 0
    g = bench.epoch_seconds(100, pipeline="indices", n_examples=512, repeats=1)
    assert g["pipeline"] == "indices" and g["epoch_seconds"] > 0
    f = bench.frozen_vs_cached(base_units=(32, 32), n_examples=512, repeats=1, steps_per_execution=2)
    assert f["base"] == [784, 32, 32] and f["speedup"] > 0 and f["steps_per_execution"] == 2


def test_run_py_rewrites_the_report_from_a_results_file(tmp_path) -> None:
    from conftest import ROOT

    (tmp_path / "results.json").write_text(json.dumps({**_results(), "command": "x", "bench_wall_seconds": 1.0}))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--report-only", str(tmp_path / "results.json"),
         "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "RESULTS.md").read_text()
    assert bench.FIGURES_START in report and "**10.0×**" in report
    assert (tmp_path / "notebook_times.png").exists()
