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
    assert proc.returncode == 2 and "model='svd'" in proc.stderr
    proc = _run("train", "--model", "mf", "--data", "/no/such.csv")
    assert proc.returncode == 2 and "/no/such.csv" in proc.stderr
    proc = _run("evaluate", "--model-dir", "/no/run")
    assert proc.returncode == 2 and "/no/run" in proc.stderr
    proc = _run("train", "--model", "mf", "--model-arg", "embedding_dim")
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr


def test_two_tower_is_trained_without_a_loss_and_for_the_implicit_task(tmp_path, capsys):
    args = ["train", "--model", "two_tower", "--epochs", "1", "--out", str(tmp_path / "run")]
    assert main([*args, "--task", "rating"]) == 2
    assert "model='two_tower', task='rating'" in capsys.readouterr().err
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
