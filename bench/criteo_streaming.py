"""Streaming Criteo: ``tfdeeprec train --model deepfm --data criteo:FILE`` beside RecBole
1.2.1's DeepFM on the same rows, for generated files of 1M and 10M rows.

    .venv/bin/python bench/criteo_streaming.py [--rows 1000000,10000000] [--threads 2]
        [--work DIR] [--recbole-timeout 2700] [--memory-limit-gib 18] [--no-recbole]
        [--no-write | --write]

Files. ``python -m tfdeeprec.data.criteo_synthetic FILE --rows N --seed 0`` writes each
file once into ``--work`` (default ``~/.cache/tfdeeprec/criteo_bench``, never the
repository); with one seed the smaller file is a prefix of the larger (checked byte for
byte), so the runs differ only in how many rows they read.

Sides, each in a process of its own, one after the other:

* tfdeeprec: ``tfdeeprec train --model deepfm --data criteo:FILE --task ctr --epochs 1
  --batch-size 2048 --optimizer adam --threads T --out RUN``, as a user runs it: one
  streaming pass for the feature statistics, then the streamed tf.data pipeline (8:1:1
  parts by a seeded hash of each line). Its ``metrics.json`` gives the epoch's seconds
  (training = epoch minus its validation), test AUC and LogLoss, and its peak RSS; the
  process's wall time is measured here.
* RecBole 1.2.1 (``bench/peers/setup.sh recbole``, its own venv): DeepFM through
  ``bench/peers/recbole_run.py`` (protocol ``criteo``) on atomic files that
  ``bench/peers/criteo_atomic.py`` writes from the same file with tfdeeprec's own part
  hash, vocabularies (values seen fewer than 10 times in training share an OOV row, as in
  tfdeeprec) and numeric encoding, so both sides see the same rows and fields and have
  the same parameters (but for a bias and the OOV rows of fields with no rare value).
  RecBole loads the files whole (pandas), so its process has a
  wall-clock limit (``--recbole-timeout``) and an RSS limit (``--memory-limit-gib``,
  enforced by polling ``/proc/PID/status``); a side that runs over either is recorded as
  such in the JSON and the table instead of stopping the benchmark.

Both: Adam with learning rate 1e-3, 2048 rows a batch, embeddings of 10, MLP [128, 128,
128] with dropout 0.2 (RecBole's DeepFM defaults, tfdeeprec's too), one epoch, T
threads. Training examples/s = training rows / the epoch's training seconds. GFLOP/s =
examples/s x DeepFM's matmul FLOPs per training example (the MLP and its output layer on
the 39 field embeddings of 10: 390 -> 128 -> 128 -> 128 -> 1, forward and backward = 3 x
forward; embedding gathers, the FM term and the optimizer's update are not matmuls and
are not counted), against the machine's float32 matmul limit at T threads measured in
the same run (``bench/flops.py``).

About 20 minutes for the default rows at 2 threads (``make bench-streaming``), 7 of
them writing RecBole's files of the 10M-row file, with RecBole stopped at the memory
limit on that file (18 GiB in about 2 minutes; with the memory to finish, add its
training). Files, RecBole's copies and runs stay in ``--work`` (about 6 GB).
Results go to ``bench/results/criteo_streaming.json`` and the README's
``bench:criteo_streaming`` section; a run with other ``--rows`` writes nothing unless
``--write``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers_ml100k import PEERS_DIR, measure_flop_limit, setup_peer  # noqa: E402
from report import ROOT, markdown_table, write_result  # noqa: E402

DEFAULT_ROWS = (1_000_000, 10_000_000)
DEFAULT_WORK = Path("~/.cache/tfdeeprec/criteo_bench").expanduser()
SEED = 0
BATCH = 2048
EMBEDDING_DIM = 10
FIELDS = 39                      # I1..I13 and C1..C26
HIDDEN_UNITS = (128, 128, 128)
MIN_COUNT = 10                   # tfdeeprec's default for Criteo's categories
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def example_flops(fields: int = FIELDS, embedding_dim: int = EMBEDDING_DIM,
                  hidden_units=HIDDEN_UNITS) -> int:
    """DeepFM's matmul FLOPs per training example: the MLP and its 1-unit output layer,
    forward (2 per multiply-add) plus backward (twice the forward)."""
    units = [fields * embedding_dim, *hidden_units, 1]
    return 3 * sum(2 * a * b for a, b in zip(units, units[1:]))


# --- running a side ---------------------------------------------------------------------

def run_guarded(command: list, log: Path, *, timeout: float, memory_gib: float,
                env: dict | None = None, cwd=None) -> dict:
    """Runs ``command`` (output to ``log``), killing it past ``timeout`` seconds or past
    ``memory_gib`` GiB of resident memory (polled every 0.2 s). Returns its exit code,
    wall seconds, the largest RSS polled (MiB) and, when stopped, why."""
    began, cpu = time.perf_counter(), _children_cpu_seconds()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=cwd)
    status, polled, stopped = Path(f"/proc/{process.pid}/status"), 0.0, None
    while process.poll() is None:
        try:
            rss = next((int(line.split()[1]) / 1024 for line in status.read_text().splitlines()
                        if line.startswith("VmRSS:")), 0.0)
        except OSError:
            rss = 0.0
        polled = max(polled, rss)
        seconds = time.perf_counter() - began
        if rss > memory_gib * 1024:
            stopped = "memory"
        elif seconds > timeout:
            stopped = "timeout"
        if stopped:
            process.kill()
            process.wait()
            break
        time.sleep(0.2)
    return {"returncode": process.returncode, "wall_seconds": time.perf_counter() - began,
            "cpu_seconds": _children_cpu_seconds() - cpu, "polled_peak_rss_mib": polled,
            "stopped": stopped}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stop_text(run: dict, memory_gib: float, timeout: float) -> str:
    seconds = run["wall_seconds"]
    if run["stopped"] == "memory":
        return f"out of memory: RSS over {memory_gib:g} GiB after {seconds:.0f} s"
    if run["stopped"] == "timeout":
        return f"timed out after {timeout:.0f} s"
    return f"failed (exit code {run['returncode']}) after {seconds:.0f} s"


def generate(rows: int, work: Path) -> Path:
    """The seed-0 file of ``rows`` rows in ``work`` (written once; a ``.done`` file marks
    a complete one)."""
    path = work / f"criteo_seed{SEED}_{rows}.tsv"
    done = path.with_suffix(".done")
    if not done.exists():
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run([PYTHON, "-m", "tfdeeprec.data.criteo_synthetic", str(path),
                        "--rows", str(rows), "--seed", str(SEED)], check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                       stdout=subprocess.DEVNULL)
        done.write_text(json.dumps({"rows": rows, "bytes": path.stat().st_size}))
    return path


def check_prefix(small: Path, large: Path) -> bool:
    """Whether ``small`` is the first bytes of ``large`` (the generator's promise)."""
    with open(small, "rb") as a, open(large, "rb") as b:
        while chunk := a.read(1 << 24):
            if b.read(len(chunk)) != chunk:
                return False
    return True


def convert(path: Path, rows: int, work: Path) -> dict:
    """RecBole's atomic files of ``path`` (``criteo_atomic.py``), written afresh every run:
    its summary holds the statistics pass's seconds the table reports."""
    out = work / f"atomic_{rows}"
    summary_file = out / "summary.json"
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([PYTHON, str(PEERS_DIR / "criteo_atomic.py"), str(path),
                             str(out), "--name", "criteo", "--seed", str(SEED),
                             "--min-count", str(MIN_COUNT)], check=True, capture_output=True,
                            text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    summary["source_bytes"] = path.stat().st_size
    summary_file.write_text(json.dumps(summary, indent=2))
    return summary


def run_tfdeeprec(path: Path, rows: int, work: Path, threads: int, train_rows: int,
                  memory_gib: float) -> dict:
    """``tfdeeprec train`` as a user runs it; its metrics.json and the process's wall."""
    out = work / f"run_tfdeeprec_{rows}"
    arguments = ["--model", "deepfm", "--data", f"criteo:{path}", "--task", "ctr",
                 "--epochs", "1", "--batch-size", str(BATCH), "--optimizer", "adam",
                 "--threads", str(threads), "--out", str(out), "--overwrite"]
    log = work / f"tfdeeprec_{rows}.log"
    run = run_guarded([str(ROOT / ".venv" / "bin" / "tfdeeprec"), "train", *arguments], log,
                      timeout=4 * 3600, memory_gib=memory_gib,
                      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if run["returncode"] != 0:
        raise SystemExit(f"tfdeeprec train failed on {rows} rows: "
                         f"{stop_text(run, memory_gib, 4 * 3600)} (log: {log})")
    summary = json.loads((out / "metrics.json").read_text())
    epoch, valid = summary["epoch_seconds"][0], summary["validation_seconds"][0]
    steps = [int(n) for n in re.findall(r"^(\d+)/\1 - ", log.read_text(), re.M)]
    expected = math.ceil(train_rows / BATCH)
    if steps != [expected]:
        raise SystemExit(f"tfdeeprec trained {steps} steps, the converter's {train_rows} "
                         f"training rows make {expected}: the parts disagree (log: {log})")
    return {"train_rows": train_rows, "steps": expected,
            "train_seconds": epoch - valid, "valid_seconds": valid,
            "fit_seconds": summary["seconds"], "total_seconds": run["wall_seconds"],
            "cpu_seconds": run["cpu_seconds"], "peak_rss_mib": summary["peak_rss_mib"],
            "polled_peak_rss_mib": run["polled_peak_rss_mib"],
            "parameters": summary["parameters"], "test": summary["metrics"]["test"],
            "valid": summary["metrics"]["valid"],
            "versions": {"tfdeeprec": summary.get("tfdeeprec_version"),
                         "tensorflow": summary.get("tensorflow_version")},
            "command": ["tfdeeprec", "train", "--model", "deepfm", "--data", "criteo:FILE",
                        *arguments[4:-3], "--out", "RUN"]}


def run_recbole(python: str, atomic: dict, rows: int, work: Path, threads: int,
                timeout: float, memory_gib: float) -> dict:
    """RecBole's DeepFM on the atomic files, guarded; its result JSON or why it stopped."""
    stem = work / f"recbole_{rows}"
    request = {"model": "DeepFM", "protocol": "criteo",
               "data_path": str(Path(atomic["folder"]).parent), "dataset": atomic["name"],
               "threads": threads, "seed": 2020, "checkpoint_dir": str(work / "saved"),
               "config": {"epochs": 1, "train_batch_size": BATCH, "learning_rate": 1e-3,
                          "embedding_size": EMBEDDING_DIM,
                          "mlp_hidden_size": list(HIDDEN_UNITS), "dropout_prob": 0.2}}
    Path(f"{stem}.request.json").write_text(json.dumps(request))
    result_file = Path(f"{stem}.result.json")
    result_file.unlink(missing_ok=True)
    run = run_guarded([python, str(PEERS_DIR / "recbole_run.py"), f"{stem}.request.json",
                       str(result_file)], Path(f"{stem}.log"), timeout=timeout,
                      memory_gib=memory_gib, cwd=work)
    if run["returncode"] != 0 or not result_file.exists():
        return {"error": stop_text(run, memory_gib, timeout), "stopped": run["stopped"],
                "returncode": run["returncode"], "seconds": run["wall_seconds"],
                "cpu_seconds": run["cpu_seconds"], "memory_limit_gib": memory_gib,
                "timeout_seconds": timeout,
                "polled_peak_rss_mib": run["polled_peak_rss_mib"],
                "log": str(Path(f"{stem}.log"))}
    result = json.loads(result_file.read_text())
    train_rows = result["dataset"]["rows"][0]
    if train_rows != atomic["rows"]["train"]:
        raise SystemExit(f"RecBole read {train_rows} training rows of "
                         f"{atomic['rows']['train']}")
    return {"train_rows": train_rows, "train_seconds": result["train_epoch_seconds"][0],
            "valid_seconds": result["valid_epoch_seconds"][0],
            "load_seconds": result["prepare_seconds"],
            "runner_seconds": result["total_seconds"], "total_seconds": run["wall_seconds"],
            "cpu_seconds": run["cpu_seconds"], "peak_rss_mib": result["peak_rss_mib"],
            "polled_peak_rss_mib": run["polled_peak_rss_mib"],
            "parameters": result["dataset"]["parameters"], "test": result["test"],
            "valid": result["valid"], "versions": result["versions"],
            "config": request["config"]}


def add_rates(side: dict, flops_per_example: int, limit: dict) -> None:
    side["examples_per_second"] = side["train_rows"] / side["train_seconds"]
    side["gflops"] = side["examples_per_second"] * flops_per_example / 1e9
    side["fraction_of_limit"] = side["gflops"] / limit["gflops_float32"]


# --- the table --------------------------------------------------------------------------

HEADER = ["rows", "side", "train examples/s", "train s", "statistics pass / load s",
          "total s", "peak RSS MiB", "RSS vs the first file", "test AUC", "LogLoss",
          "train GFLOP/s (of limit)"]


def table(results: list, threads: int, limit: dict, flops_per_example: int) -> str:
    lines = []
    for r in results:
        for name, side in r["sides"].items():
            label = "tfdeeprec" if name == "tfdeeprec" else "RecBole 1.2.1"
            if "error" in side:
                lines.append([f"{r['rows']:,}", label, side["error"]] + ["-"] * 8)
                continue
            growth = side.get("rss_growth_percent")
            lines.append([
                f"{r['rows']:,}", label, f"{side['examples_per_second']:,.0f}",
                f"{side['train_seconds']:.1f}",
                f"{side['statistics_seconds' if name == 'tfdeeprec' else 'load_seconds']:.1f}",
                f"{side['total_seconds']:.1f}", f"{side['peak_rss_mib']:,.0f}",
                "-" if growth is None else f"{growth:+.1f}%",
                f"{side['test']['auc']:.4f}", f"{side['test']['logloss']:.4f}",
                f"{side['gflops']:.1f} ({100 * side['fraction_of_limit']:.1f}%)"])
    first = results[0]
    params = parameter_text(results)
    note = (
        f"Streaming Criteo: DeepFM on generated Criteo-format files (`python -m "
        f"tfdeeprec.data.criteo_synthetic FILE --rows N --seed 0`: label, I1..I13, C1..C26 "
        f"with a planted click model; the smaller file is the first rows of the larger), "
        f"one epoch at {threads} threads, each side in its own process. tfdeeprec: `"
        f"{' '.join(first['sides']['tfdeeprec']['command'])}`, which streams the file "
        f"twice (a feature-statistics pass over the training part, then training) and "
        f"never holds it; its 8:1:1 parts come from a seeded hash of each line. RecBole "
        f"1.2.1: DeepFM (`bench/peers/recbole_run.py`, protocol `criteo`) on atomic files "
        f"written from the same file by `bench/peers/criteo_atomic.py` with tfdeeprec's "
        f"own part hash, vocabularies (values seen fewer than {MIN_COUNT} times in "
        f"training share an OOV row, tfdeeprec's default for Criteo) and numeric encoding "
        f"(standardised log1p), so both sides train, validate and test on the same rows "
        f"and embed the same values ({params}); RecBole reads the files whole with "
        f"pandas. Same settings on both sides: Adam, learning rate 1e-3, 2048 rows a "
        f"batch, embeddings of 10, MLP [128, 128, 128] with dropout 0.2 (RecBole's "
        f"defaults); test AUC and LogLoss after the one epoch. Train examples/s: training "
        f"rows over the epoch's training seconds (validation excluded). Statistics pass / "
        f"load s: tfdeeprec's feature-statistics pass (the same `fit_feature_stats` call "
        f"on the same batches, timed in the converter's process: `tfdeeprec train` does "
        f"not report it); RecBole's loading of the files, its data preparation and model "
        f"build. Total s: the process's wall time (tfdeeprec: imports, the statistics "
        f"pass, training, validation and test evaluation, saving the model). Peak RSS: "
        f"each process's VmHWM; RSS vs the first file: its growth over the same side's "
        f"run on the first file. GFLOP/s: examples/s x {flops_per_example:,} matmul "
        f"FLOPs per training example (the MLP and its output layer on the 39 field "
        f"embeddings, 390 -> 128 -> 128 -> 128 -> 1, forward and backward; embedding "
        f"gathers, the FM term and the optimizer update are not matmuls and are not "
        f"counted); the limit is the best float32 2048 x 2048 matmul through TensorFlow at "
        f"{threads} threads measured in this run: {limit['gflops_float32']} GFLOP/s."
        + memory_note(results))
    return markdown_table(HEADER, lines) + "\n\n" + note


def parameter_text(results: list) -> str:
    """The sides' parameter counts per file, e.g. ``1,000,000 rows: 547,667 parameters
    (tfdeeprec), 547,644 (RecBole)``."""
    parts = []
    for r in results:
        counts = [f"{side['parameters']:,}" + (" parameters" if not parts and name ==
                                                "tfdeeprec" else "") + f" ({label})"
                  for name, label in (("tfdeeprec", "tfdeeprec"), ("recbole", "RecBole"))
                  if "parameters" in (side := r["sides"].get(name, {}))]
        parts.append(f"{r['rows']:,} rows: {', '.join(counts)}")
    return ("; ".join(parts) + "; RecBole has no OOV row for a field whose every value "
            "is in the vocabulary, and one bias less")


def memory_note(results: list) -> str:
    """What the peak RSS figures come from (the tokens each file's model embeds, and a
    peer stopped at the memory limit)."""
    first, last = results[0], results[-1]
    text = (f" What grows from the first file to the last on tfdeeprec's side is the "
            f"vocabulary and the held-out parts, not the training rows it streams: the "
            f"values of C1..C26 seen at least {MIN_COUNT} times in training go from "
            f"{first['vocabulary_rows']:,} to {last['vocabulary_rows']:,}, so the model, "
            f"its Adam slots (tf-keras Adam updates every embedding row each step, which "
            f"also makes the larger model's steps slower) and its lookup tables (one set, "
            f"shared by the input pipeline and the model) grow, and training's resident "
            f"memory with them; the exact AUC of the validation and test parts keeps a "
            f"float32 logit and label per row (about 10 bytes a row with the sort), and "
            f"the peak comes while the larger test part is evaluated. Freed heap pages go "
            f"back to the system between phases (after the feature-statistics pass, the "
            f"fit and each evaluation), and the model is saved without traced functions. "
            f"The same command's peak varies from run to run by tens of MiB (the malloc "
            f"arenas of TensorFlow's threads).")
    for r in results:
        side = r["sides"].get("recbole", {})
        if side.get("stopped") == "memory":
            text += (f" RecBole on {r['rows']:,} rows: stopped when its process passed "
                     f"{side['memory_limit_gib']:g} GiB, while loading the files (RecBole "
                     f"1.2.1 holds them whole in pandas and turns each numerical feature "
                     f"into a Python list [value, 1.0] per row).")
    return text


# --- main -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(map(str, DEFAULT_ROWS)),
                        help="file sizes, comma-separated (default 1000000,10000000)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=str(DEFAULT_WORK),
                        help=f"files, runs and logs (default {DEFAULT_WORK})")
    parser.add_argument("--recbole-timeout", type=float, default=2700.0,
                        help="seconds RecBole's process may run (default 2700)")
    parser.add_argument("--memory-limit-gib", type=float, default=18.0,
                        help="RSS at which a side's process is stopped (default 18)")
    parser.add_argument("--no-recbole", action="store_true", help="tfdeeprec only")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--no-write", action="store_true")
    writing.add_argument("--write", action="store_true",
                         help="write even with other --rows or --no-recbole")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.rows.split(",") if n.strip())
    write = args.write or not (args.no_write or args.no_recbole
                               or tuple(sizes) != DEFAULT_ROWS)
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    limit = measure_flop_limit(args.threads)
    flops_per_example = example_flops()
    print(f"matmul limit at {args.threads} threads: {limit['gflops_float32']} GFLOP/s "
          f"float32; DeepFM: {flops_per_example:,} matmul FLOPs per training example",
          flush=True)
    python = None if args.no_recbole else setup_peer("recbole")
    paths = {rows: generate(rows, work) for rows in sizes}
    prefix = all(check_prefix(paths[a], paths[b]) for a, b in zip(sizes, sizes[1:]))
    if not prefix:
        raise SystemExit("the generated files are not prefixes of each other")
    results = []
    for rows in sizes:
        atomic = convert(paths[rows], rows, work)
        print(f"{rows:,} rows: parts {atomic['rows']}, statistics pass "
              f"{atomic['statistics_seconds']:.1f} s, atomic files in "
              f"{atomic['seconds']:.1f} s", flush=True)
        sides = {"tfdeeprec": run_tfdeeprec(paths[rows], rows, work, args.threads,
                                            atomic["rows"]["train"], args.memory_limit_gib)}
        sides["tfdeeprec"]["statistics_seconds"] = atomic["statistics_seconds"]
        if python:
            sides["recbole"] = run_recbole(python, atomic, rows, work, args.threads,
                                           args.recbole_timeout, args.memory_limit_gib)
        for side in sides.values():
            if "error" not in side:
                add_rates(side, flops_per_example, limit)
        results.append({"rows": rows, "file_bytes": paths[rows].stat().st_size,
                        "parts": atomic["rows"],
                        "vocabulary_rows": sum(atomic["vocabulary_sizes"].values()),
                        "converter_seconds": atomic["seconds"], "sides": sides})
        print(f"{rows:,} rows: " + "; ".join(
            f"{name} " + (side["error"] if "error" in side else
                          f"{side['examples_per_second']:,.0f} examples/s, AUC "
                          f"{side['test']['auc']:.4f}, peak RSS {side['peak_rss_mib']:,.0f} MiB")
            for name, side in sides.items()), flush=True)
    for name in ("tfdeeprec", "recbole"):
        base = results[0]["sides"].get(name, {})
        for r in results[1:]:
            side = r["sides"].get(name, {})
            if "peak_rss_mib" in base and "peak_rss_mib" in side:
                side["rss_growth_percent"] = 100 * (side["peak_rss_mib"]
                                                    / base["peak_rss_mib"] - 1)
    seconds = time.perf_counter() - began
    text = table(results, args.threads, limit, flops_per_example)
    print(text)
    print(f"\n{len(sizes)} files in {seconds:.0f} s")
    if write:
        command = " ".join([".venv/bin/python bench/criteo_streaming.py"]
                           + [f"--rows {args.rows}"] * (tuple(sizes) != DEFAULT_ROWS)
                           + [f"--threads {args.threads}"] * (args.threads != 2))
        write_result("criteo_streaming", {
            "threads": args.threads, "seed": SEED, "batch_size": BATCH,
            "min_count": MIN_COUNT, "seconds": seconds, "flop_limit": limit,
            "flops_per_example": flops_per_example, "prefix_checked": prefix,
            "memory_limit_gib": args.memory_limit_gib,
            "recbole_timeout_seconds": args.recbole_timeout, "files": results}, text,
            command)


if __name__ == "__main__":
    main()
