"""The top-level serving/ assets that can run here: the REST client examples (against
`tfdeeprec serve` on an ephemeral port) and the models.config generator. The Dockerfiles
and the compose file need a Docker engine and are not run."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SERVING = Path(__file__).resolve().parents[2] / "serving"


def test_client_example_against_tfdeeprec_serve(server):
    proc = subprocess.run(
        [sys.executable, str(SERVING / "examples" / "client.py"), "--url", server.url,
         "--model", "toy", "--user", "u1", "--items", "i0,i3,nope", "--k", "3",
         "--exclude", "i0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["version"] == "1" and out["status"][0]["state"] == "AVAILABLE"
    assert out["signatures"] == ["recommend", "score", "serving_default"]
    assert [s["item_id"] for s in out["scores"]] == ["i0", "i3", "nope"]
    assert [s["known"] for s in out["scores"]] == [True, True, False]
    recs = out["recommendations"]
    assert len(recs) == 3 and "i0" not in [r["item_id"] for r in recs]
    assert [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)


def test_client_example_reports_errors(server):
    proc = subprocess.run([sys.executable, str(SERVING / "examples" / "client.py"), "--url",
                           server.url, "--model", "nope"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "404" in proc.stderr


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="needs curl and bash")
def test_curl_examples_against_tfdeeprec_serve(server):
    env = {"URL": server.url, "MODEL": "toy", "USER_ID": "u2", "ITEM_ID": "i1", "K": "2",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(SERVING / "examples" / "requests.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(answers) == 4
    assert answers[0]["model_version_status"][0]["state"] == "AVAILABLE"
    assert "recommend" in answers[1]["metadata"]["signature_def"]["signature_def"]
    assert [p["known"] for p in answers[2]["predictions"]] == [True, False]
    assert len(answers[3]["outputs"]["item_ids"][0]) == 2
    assert "i1" not in answers[3]["outputs"]["item_ids"][0]

    env["MODEL"] = "nope"
    proc = subprocess.run(["bash", str(SERVING / "examples" / "requests.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "not found" in proc.stdout


def test_models_config_lists_every_model(model_base, tmp_path):
    out = tmp_path / "models.config"
    proc = subprocess.run([sys.executable, str(SERVING / "make_models_config.py"), model_base,
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("model_config_list {")
    assert 'name: "single"' in text and 'base_path: "/models/toy"' in text
    assert text.count("config {") == 2 and "latest { num_versions: 1 }" in text
    proc = subprocess.run([sys.executable, str(SERVING / "make_models_config.py"), model_base,
                           "--versions", "1,2"], capture_output=True, text=True, timeout=60)
    assert "specific { versions: 1 versions: 2 }" in proc.stdout
