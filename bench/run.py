"""onyx against onnxruntime on the models bench/make_models.py exports.

    .cache/torch-venv/bin/python bench/run.py [--models a,b] [--threads 1,2] [--runs N]
        [--warmup N] [--batches N] [--onyx build/onyx] [--dir .cache/bench] [--out bench/RESULTS.md]

For each model and thread count:
  * speed: `--runs` timed runs of each engine, split into `--batches` batches that alternate
    (onyx, ORT, ORT, onyx, onyx, ...) so that a noisy machine slows both alike. An onyx batch
    is one `onyx bench` process (--warmup runs, then its share of timed runs; the per-run
    times it prints are pooled); an ORT batch is --warmup then its share of timed runs of one
    InferenceSession kept in this process (intra_op_num_threads=N, inter_op_num_threads=1,
    ORT_SEQUENTIAL, ORT_ENABLE_ALL), timed with perf_counter around session.run.
    OPENBLAS_NUM_THREADS=N is set for onyx so OpenBLAS inside onyx uses the same thread count.
  * load: onyx's load_ms + session_ms (median over its batches) and ORT's InferenceSession
    construction (graph optimisation included) in this process.
  * peak RSS and correctness (first thread count only): a child that only loads and runs once
    for each engine (`onyx run --output-dir`, and a python child for ORT), its maximum resident
    set size as GNU time (/usr/bin/time, Debian package `time`) reports it. The ORT child's RSS includes the python interpreter, numpy and onnxruntime's
    library (the baseline is printed in the notes). onyx's written outputs are compared with
    ORT's: max |onyx - ort| / max |ort| over every output.
Writes a markdown report (date, CPU, versions, tables) and prints the tables."""
import argparse
import ctypes
import datetime
import glob
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GNU_TIME = "/usr/bin/time"  # Debian package `time`
MODELS = ["resnet50", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0", "bert_base", "gpt2_small", "yolov8n",
          "unet", "lstm"]

ORT_CHILD = r"""
import sys, numpy as np, onnxruntime as ort
model, threads, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
so = ort.SessionOptions()
so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
if model != "-":
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    s.run(None, {i.name: np.load(p) for i, p in zip(s.get_inputs(), paths)})
"""


def ort_session(model, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


EXTRA_ONYX_ENV = {}  # --onyx-env VAR=VALUE (e.g. OMP_WAIT_POLICY=passive), for experiments


def onyx_env(threads):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env.update(EXTRA_ONYX_ENV)
    return env


def onyx_batch(onyx, model, inputs, threads, runs, warmup):
    """One `onyx bench` process: (per-run times in ms, load_ms + session_ms)."""
    cmd = [onyx, "bench", model, "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup)]
    for p in inputs:
        cmd += ["--input", p]
    r = subprocess.run(cmd, capture_output=True, text=True, env=onyx_env(threads))
    if r.returncode != 0:
        raise RuntimeError(f"onyx bench failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    out = r.stdout
    last = out.strip().splitlines()[-1]
    if not re.fullmatch(r"median_ms=[0-9.]+ min_ms=[0-9.]+ runs=%d" % runs, last):
        raise RuntimeError(f"onyx bench: unexpected last line {last!r}")
    times = [float(t) for t in re.search(r"^times_ms=(.*)$", out, re.M).group(1).split(",")]
    load = float(re.search(r"^load_ms=([0-9.]+)", out, re.M).group(1))
    session = float(re.search(r"^session_ms=([0-9.]+)", out, re.M).group(1))
    return times, load + session


def ort_batch(sess, feeds, runs, warmup):
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def child_peak_rss_mb(cmd, env=None):
    """Runs cmd to completion under GNU time; its peak RSS in MB (nan without /usr/bin/time).

    Not os.wait4 on a child of this process: Linux carries the forking process's RSS high-water
    mark into the child's ru_maxrss across exec, so every child would report at least this
    process's size. /usr/bin/time is small, and the child it forks starts from its size."""
    if not os.access(GNU_TIME, os.X_OK):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
        return float("nan")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as f:
        r = subprocess.run([GNU_TIME, "-f", "%M", "-o", f.name] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {r.stderr.decode(errors='replace')[-500:]}")
        return int(f.read().strip().splitlines()[-1]) / 1024.0  # KiB


def sanitize(name):  # as cli_sanitize_name: the file name `onyx run --output-dir` writes
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def measure_memory_and_accuracy(onyx, model, inputs, threads, ort_outputs, names):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [onyx, "run", model, "--threads", str(threads), "--output-dir", tmp]
        for p in inputs:
            cmd += ["--input", p]
        onyx_rss = child_peak_rss_mb(cmd, onyx_env(threads))
        worst = 0.0
        for name, want in zip(names, ort_outputs):
            got = np.load(os.path.join(tmp, sanitize(name) + ".npy"))
            if got.shape != want.shape:
                raise RuntimeError(f"output {name}: onyx shape {got.shape}, onnxruntime {want.shape}")
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if want.size else 0.0
            worst = max(worst, diff / scale if scale > 0 else diff)
    ort_rss = child_peak_rss_mb([sys.executable, "-c", ORT_CHILD, model, str(threads)] + inputs)
    return onyx_rss, ort_rss, worst


def split_runs(runs, batches):
    base, extra = divmod(runs, batches)
    return [base + (1 if i < extra else 0) for i in range(batches)]


def bench_model(a, name):
    model = os.path.join(a.dir, name + ".onnx")
    inputs = sorted(glob.glob(os.path.join(a.dir, name + ".input_*.npy")),
                    key=lambda p: int(re.search(r"input_(\d+)\.npy$", p).group(1)))
    if not os.path.exists(model):
        raise RuntimeError(f"{model} is missing: run bench/make_models.py first")
    rows, info = [], {}
    for threads in a.threads:
        t0 = time.perf_counter()
        sess = ort_session(model, threads)
        ort_load = (time.perf_counter() - t0) * 1e3
        feeds = {i.name: np.load(p) for i, p in zip(sess.get_inputs(), inputs)}
        onyx_t, ort_t, onyx_loads = [], [], []
        batches = min(a.batches, a.runs)
        for b, n in enumerate(split_runs(a.runs, batches)):
            order = ("onyx", "ort") if b % 2 == 0 else ("ort", "onyx")
            for engine in order:
                if engine == "onyx":
                    times, load = onyx_batch(a.onyx, model, inputs, threads, n, a.warmup)
                    onyx_t += times
                    onyx_loads.append(load)
                else:
                    ort_t += ort_batch(sess, feeds, n, a.warmup)
        row = dict(model=name, threads=threads, onyx_med=statistics.median(onyx_t), onyx_min=min(onyx_t),
                   ort_med=statistics.median(ort_t), ort_min=min(ort_t), runs=len(onyx_t))
        row["ratio"] = row["onyx_med"] / row["ort_med"]
        rows.append(row)
        print(f"  {name} t={threads}: onyx {row['onyx_med']:.2f} ms, ort {row['ort_med']:.2f} ms, "
              f"ratio {row['ratio']:.2f}", flush=True)
        if not info:  # load, memory and accuracy once per model, at the first thread count
            ort_outputs = sess.run(None, feeds)
            names = [o.name for o in sess.get_outputs()]
            del sess
            onyx_rss, ort_rss, rel = measure_memory_and_accuracy(a.onyx, model, inputs, threads, ort_outputs, names)
            info = dict(model=name, onyx_load=statistics.median(onyx_loads), ort_load=ort_load, onyx_rss=onyx_rss,
                        ort_rss=ort_rss, rel=rel, size=os.path.getsize(model) / 1e6)
    return rows, info


# ---- environment facts for the report --------------------------------------------------------

def cpu_model():
    name, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and name == "unknown":
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    simd = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "no avx2"
    return f"{name} ({os.cpu_count()} logical CPUs, {simd}{', fma' if 'fma' in flags else ''})"


def onyx_commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def openblas_version(onyx):
    """OpenBLAS's own config string, from the library the onyx binary links."""
    try:
        ldd = subprocess.run(["ldd", onyx], capture_output=True, text=True).stdout
        m = re.search(r"(libopenblas\S*)\s+=>\s+(\S+)", ldd)
        if not m:
            return "not linked (BLAS=none)"
        lib = ctypes.CDLL(m.group(2))
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return f"{lib.openblas_get_config().decode()} (core {lib.openblas_get_corename().decode()})"
    except OSError as e:
        return f"unknown ({e})"


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def tables(rows, infos):
    speed = ["| model | threads | onyx median ms | onyx min ms | ORT median ms | ORT min ms | onyx/ORT (median) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        speed.append(f"| {r['model']} | {r['threads']} | {r['onyx_med']:.2f} | {r['onyx_min']:.2f} | "
                     f"{r['ort_med']:.2f} | {r['ort_min']:.2f} | {r['ratio']:.2f} |")
    other = ["| model | file MB | onyx load ms | ORT load ms | onyx peak RSS MB | ORT peak RSS MB | "
             "max abs diff / max abs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for i in infos:
        other.append(f"| {i['model']} | {i['size']:.1f} | {i['onyx_load']:.1f} | {i['ort_load']:.1f} | "
                     f"{i['onyx_rss']:.0f} | {i['ort_rss']:.0f} | {i['rel']:.2e} |")
    return "\n".join(speed), "\n".join(other)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per engine, model and thread count")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up runs per batch")
    ap.add_argument("--batches", type=int, default=4, help="alternating batches the runs are split into")
    ap.add_argument("--onyx", default=os.path.join(ROOT, "build", "onyx"))
    ap.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench"))
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"), help="report path ('-': none)")
    ap.add_argument("--onyx-env", action="append", default=[], metavar="VAR=VALUE",
                    help="extra environment for the onyx processes (repeatable; recorded in the report)")
    a = ap.parse_args()
    for kv in a.onyx_env:
        if "=" not in kv:
            sys.exit(f"run.py: --onyx-env wants VAR=VALUE, not {kv!r}")
        k, v = kv.split("=", 1)
        EXTRA_ONYX_ENV[k] = v
    a.threads = [int(t) for t in a.threads.split(",") if t]
    names = [m for m in a.models.split(",") if m]
    if a.runs < 1 or a.batches < 1 or a.warmup < 0 or not a.threads or min(a.threads) < 1:
        sys.exit("run.py: --runs and --batches must be >= 1, --warmup >= 0, --threads positive")
    bad = [m for m in names if m not in MODELS]
    if bad:
        sys.exit(f"run.py: unknown models {bad} (known: {', '.join(MODELS)})")
    started, load_before = datetime.datetime.now(), load_average()
    rows, infos = [], []
    for name in names:
        print(f"{name} ...", flush=True)
        r, i = bench_model(a, name)
        rows += r
        infos.append(i)
    baseline = child_peak_rss_mb([sys.executable, "-c", ORT_CHILD, "-", "1"])
    speed, other = tables(rows, infos)
    report = f"""# onyx vs onnxruntime

Generated by `bench/run.py` (`make bench`) on {started:%Y-%m-%d %H:%M}.

* CPU: {cpu_model()}; {platform.system()} {platform.release()}
* onyx: commit {onyx_commit()} ({a.onyx})
* onnxruntime: {ort.__version__} (CPU execution provider); numpy {np.__version__}; python {platform.python_version()}
* OpenBLAS (linked into onyx): {openblas_version(a.onyx)}
* settings: {a.runs} timed runs per engine, model and thread count in {min(a.batches, a.runs)} alternating
  batches, {a.warmup} warm-up run(s) per batch; ORT intra_op_num_threads=N, inter_op_num_threads=1,
  ORT_SEQUENTIAL, ORT_ENABLE_ALL; onyx `bench --threads N` with OPENBLAS_NUM_THREADS=N{"".join(" " + kv for kv in a.onyx_env)}.
* load average (1/5/15 min) before: {load_before}, after: {load_average()}

**Noise:** this machine has 2 cores shared with other jobs while these numbers were taken, so
single runs vary a lot and 2-thread numbers suffer most (a descheduled thread stalls the
other at every barrier). Medians over interleaved batches hit both engines alike, but treat
ratios within ~20% as equal. Models have random weights (bench/make_models.py).
onyx's 2-thread runs suffer more than ORT's here: its OpenMP workers spin-wait between
parallel regions while OpenBLAS's own threads need the same two cores; try
`--onyx-env OMP_WAIT_POLICY=passive` to see the difference on this machine.

## Speed (per run, batch 1)

{speed}

## Load, memory, accuracy (at {a.threads[0]} thread(s))

{other}

Load: onyx = file parse + session creation (`load_ms + session_ms`); ORT = InferenceSession
construction. Peak RSS: a separate process that loads the model and runs it once; ORT's
includes python, numpy and onnxruntime's library, {baseline:.0f} MB with no model loaded.
Accuracy: max |onyx − ORT| / max |ORT| over all outputs.
"""
    if a.out != "-":
        with open(a.out, "w") as f:
            f.write(report)
        print(f"wrote {a.out}")
    print()
    print(speed)
    print()
    print(other)


if __name__ == "__main__":
    main()
