"""TwoTower under MirroredStrategy (2 logical CPUs) takes the single-device training step."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def test_two_tower_mirrored_step_matches_one_device():
    script = Path(__file__).with_name("two_tower_mirrored_check.py")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    # In-batch candidates are gathered across replicas: the loss of each step (even,
    # then uneven 8 + 7 split) equals the single-device loss of the same global batch.
    np.testing.assert_allclose(result["mirrored"], result["single"], rtol=1e-5, atol=1e-5)
    # ... and so do the updated weights, to float round-off: Adam steps of ~0.05 divide
    # by sqrt(v), which magnifies the last-bit differences of near-zero gradients summed in
    # another order (3e-5 on an AVX2-only AMD EPYC, under 1e-5 with AVX-512), still 1000
    # times below the change the steps make.
    assert result["max_weight_change"] > 0.01
    assert max(result["max_weight_diff"]) < 1e-4
