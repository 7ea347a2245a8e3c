"""The tfdeeprec command: train -> evaluate round trip, demo, and clear errors."""

import json
import subprocess
import sys

import pytest

from tfdeeprec.cli import format_table, main


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tfdeeprec.cli", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("model", ["gmf", "two_tower"])
def test_train_then_evaluate_gives_the_same_test_metrics(tmp_path, capsys, model):
    out = tmp_path / "run"
    code = main(["train", "--model", model, "--data", "synthetic", "--task", "implicit",
                 "--epochs", "2", "--batch-size", "512", "--model-arg", "embedding_dim=8",
                 "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["model"] == model and summary["epochs"] == 2
    trained = summary["metrics"]["test"]
    capsys.readouterr()
    assert main(["evaluate", "--model-dir", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    header, test_row = lines[0].split(), next(line.split() for line in lines if
                                              line.startswith("test"))
    for name, value in zip(header[1:], test_row[1:]):
        assert float(value) == pytest.approx(trained[name], abs=5e-5)


def test_errors_name_the_bad_value():
    proc = _run("train", "--model", "svd")
    assert proc.returncode == 2 and "invalid choice: 'svd'" in proc.stderr
    assert "neumf" in proc.stderr  # the registered names are listed
    proc = _run("train", "--model", "mf", "--data", "/no/such.csv")
    assert proc.returncode == 2 and "/no/such.csv" in proc.stderr
    proc = _run("evaluate", "--model-dir", "/no/run")
    assert proc.returncode == 2 and "/no/run" in proc.stderr
    proc = _run("train", "--model", "mf", "--model-arg", "embedding_dim")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr


def test_two_tower_is_trained_without_a_loss_and_for_the_implicit_task(tmp_path, capsys):
    args = ["train", "--model", "two_tower", "--epochs", "1", "--out", str(tmp_path / "run")]
    assert main([*args, "--task", "rating"]) == 2
    assert "'two_tower'. Received: task='rating'" in capsys.readouterr().err
    assert main([*args, "--loss", "bce"]) == 2
    assert "loss='bce'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_two_tower_export_writes_brute_force_scann_and_query_tower(tmp_path, capsys):
    run, base = tmp_path / "run", tmp_path / "exports"
    assert main(["train", "--model", "two_tower", "--epochs", "1", "--batch-size", "512",
                 "--model-arg", "embedding_dim=8", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", "--model-dir", str(run), "--base", str(base), "--name", "tt",
                 "--max-k", "20"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed.count("exported") == 3
    assert sorted(p.name for p in base.iterdir()) == ["tt", "tt_query_tower", "tt_scann"]
    assert main(["export", "--model-dir", str(run), "--base", str(base), "--name", "tt",
                 "--index", "brute_force"]) == 0
    assert sorted(p.name for p in (base / "tt").iterdir()) == ["1", "2"]
    assert not (base / "tt_scann" / "2").exists() and (base / "tt_query_tower" / "2").exists()


def test_demo_writes_tables_and_figure(tmp_path):
    proc = _run("demo", "--out", str(tmp_path), "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for model in ("NCF", "Wide & Deep", "NeuMF"):
        assert model in proc.stdout
    assert "RMSE" in proc.stdout and "NDCG@10" in proc.stdout
    summary = json.loads((tmp_path / "demo.json").read_text())
    assert set(summary) == {"NCF", "Wide & Deep", "NeuMF"}
    assert all(0 < s["metrics"]["test"]["rmse"] < 1.5 for s in summary.values())
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def test_format_table():
    assert format_table(["m", "x"], [["a", 1.0], ["bb", 0.12345]]).splitlines() == [
        "m   x", "a   1.0000", "bb  0.1235"]


def test_models_lists_every_registered_model_with_family_tasks_and_arguments(capsys):
    from tfdeeprec.models.registry import MODELS
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name, spec in MODELS.items():
        row = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert spec.family in row and spec.tasks[0] in row
        assert f"{name} ({spec.family}:" in out
    assert "arguments: gmf_dim=64, mlp_dim=64, hidden_units=[128, 64]" in out


def test_readme_model_table_is_the_registry(capsys):
    from pathlib import Path
    from tfdeeprec.tables import README_BEGIN, README_END, models_markdown
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start, end = readme.index(README_BEGIN), readme.index(README_END) + len(README_END)
    assert readme[start:end] == models_markdown(), (
        "README's model table is stale: run `make readme`")
    assert main(["models", "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == models_markdown()


def test_train_help_lists_the_registered_models():
    from tfdeeprec.models.registry import MODELS
    proc = _run("train", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert all(name in text for name in MODELS)


def test_config_file_gives_every_field_and_flags_override_it(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("model: mf\ntask: rating\nsplit: random\nbatch_size: 256\n"
                      "ratios: [0.7, 0.1, 0.2]\nks: [5, 10]\nseed: 4\n"
                      "model_kwargs: {embedding_dim: 6, l2: 0.001}\n"
                      "epochs: 3\ntraining: {learning_rate: 0.01, early_stopping_patience: 0}\n")
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--epochs", "1",
                 "--model-arg", "embedding_dim=5", "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert (saved["model"], saved["task"], saved["split"], saved["batch_size"]) == (
        "mf", "rating", "random", 256)
    assert saved["ratios"] == [0.7, 0.1, 0.2] and saved["ks"] == [5, 10] and saved["seed"] == 4
    assert saved["model_kwargs"] == {"embedding_dim": 5, "l2": 0.001}  # flag wins
    assert saved["training"]["epochs"] == 1 and saved["training"]["learning_rate"] == 0.01
    assert saved["training"]["early_stopping_patience"] == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: mf\nepoch: 3\nnum_negative: 2\n")
    proc = _run("train", "--config", str(bad))
    assert proc.returncode == 2 and "'epoch', 'num_negative'" in proc.stderr


def test_out_folder_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["train", "--model", "gmf", "--epochs", "1", "--out", str(out)]
    assert main(args) == 2
    assert "not empty" in capsys.readouterr().err and (out / "notes.txt").exists()
    assert main([*args, "--overwrite", "--model-arg", "embedding_dim=4"]) == 0
    assert not (out / "notes.txt").exists() and (out / "model").is_dir()
    assert not list(tmp_path.glob(".run.backup*"))  # the backup goes once the run is saved


def test_recommend_from_a_run_folder(tmp_path, capsys):
    from tfdeeprec.runs import load_train
    out = tmp_path / "run"
    assert main(["train", "--model", "mf", "--epochs", "1", "--model-arg",
                 "embedding_dim=4", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["recommend", "--model-dir", str(out), "--user", "1", "--user", "nobody",
                 "--k", "4"]) == 0
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.out.strip().splitlines()[1:]]
    assert [r[:2] for r in rows] == [["1", "1"], ["1", "2"], ["1", "3"], ["1", "4"]]
    scores = [float(r[3]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    import tfdeeprec.data.vocabulary as vocabulary
    users = vocabulary.Vocabulary.load(out / "user_vocab.json")
    items = vocabulary.Vocabulary.load(out / "item_vocab.json")
    train = load_train(out)
    seen = set(items.ids_of(train.item[train.user == users.lookup(["1"])[0]]).astype(str))
    assert not seen & {r[2] for r in rows}  # training items are left out
    assert "'nobody' is not in the run's training data" in captured.err


def test_progress_bar_on_a_terminal_one_line_per_epoch_otherwise(tmp_path):
    import os
    import pty
    args = [sys.executable, "-m", "tfdeeprec.cli", "train", "--model", "gmf", "--epochs", "1",
            "--model-arg", "embedding_dim=4"]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert piped.returncode == 0 and "[====" not in piped.stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=600) == 0
    os.close(leader)
    assert b"[====" in b"".join(chunks)  # Keras's progress bar


def test_resume_continues_a_run_killed_mid_epoch(tmp_path):
    import signal
    import time
    config = tmp_path / "slow.yaml"
    config.write_text("model: mlp_ncf\ntask: implicit\nbatch_size: 16\nnum_negatives: 8\n"
                      "model_kwargs: {embedding_dim: 8, hidden_units: [16]}\n"
                      "training: {epochs: 5, early_stopping_patience: 0, "
                      "reduce_lr_patience: 0, steps_per_execution: 1}\n")
    out = tmp_path / "run"
    backup = tmp_path / ".run.backup"
    args = [sys.executable, "-m", "tfdeeprec.cli", "train", "--config", str(config),
            "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not list(backup.rglob("*.index")):  # the first epoch's checkpoint
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.1)
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing half-written
    changed = subprocess.run([*args, "--resume", "--epochs", "4"], capture_output=True,
                             text=True, timeout=600)
    assert changed.returncode == 2 and "these differ: ['training']" in changed.stderr
    again = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["initial_epoch"] >= 1 and "resumed from epoch" in again.stdout
    assert summary["initial_epoch"] + summary["epochs"] == 5
    assert not backup.exists()
    finished = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=600)
    assert finished.returncode == 2 and "holds a finished run" in finished.stderr


def test_sequence_training_flags_reach_the_saved_config(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "sasrec", "--split", "leave_one_out", "--rank-seen",
                 "--epochs", "2", "--early-stopping-patience", "7", "--reduce-lr-patience",
                 "0", "--model-arg", "max_length=8", "--model-arg", "embedding_dim=8",
                 "--window-stride", "4", "--bucket-width", "2", "--loss", "gbce",
                 "--num-negatives", "8", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["exclude_seen"] is False and config["batch_size"] == 128
    assert config["window_stride"] == 4 and config["num_negatives"] == 8
    assert config["bucket_width"] == 2
    assert config["training"]["loss"] == "gbce"
    assert config["training"]["early_stopping_patience"] == 7
    assert config["training"]["reduce_lr_patience"] == 0
    capsys.readouterr()
    assert main(["train", "--model", "fm", "--task", "ctr", "--rank-seen", "--epochs", "1",
                 "--out", str(tmp_path / "fm")]) == 2
    assert "`exclude_seen=False` is not available for 'fm'" in capsys.readouterr().err
