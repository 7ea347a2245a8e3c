#!/usr/bin/env python3
"""Writes TF Serving's models.config for every model folder under an export base.

Standard library only. A model is a folder under BASE holding at least one integer
version folder (``BASE/NAME/VERSION/saved_model.pb``); names starting with ``.`` are
temporary and skipped. Paths in the config are where the base is inside the container.

    python serving/make_models_config.py exports > serving/models.config
    python serving/make_models_config.py exports --container-base /models \
        --versions latest --out exports/models.config

Then: ``tensorflow_model_server --model_config_file=/models/models.config ...``.

ScaNN-backed retrieval exports (``NAME_scann``, whose ``assets/tfdeeprec.json`` says
``"retrieval": {"index": "scann"}``) call ops that stock TF Serving lacks, and one
model that fails to load stops TF Serving from starting; they are left out unless
``--scann`` is given (for a TF Serving build with ScaNN's ops, ``Dockerfile.scann``).
Their brute-force twin ``NAME`` has the same signatures and is always listed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def find_models(base, scann: bool = True) -> list[str]:
    """Names of the folders under ``base`` with at least one version holding a SavedModel.

    With ``scann=False``, models whose versions are ScaNN-backed are left out.
    """
    names = []
    for entry in sorted(Path(base).iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        versions = [v for v in entry.iterdir()
                    if v.name.isdigit() and (v / "saved_model.pb").is_file()]
        if versions and (scann or not any(map(_uses_scann, versions))):
            names.append(entry.name)
    return names


def _uses_scann(version: Path) -> bool:
    metadata = version / "assets" / "tfdeeprec.json"
    if not metadata.is_file():
        return False
    retrieval = json.loads(metadata.read_text()).get("retrieval") or {}
    return retrieval.get("index") == "scann"


def models_config(names, container_base: str = "/models", versions: str = "latest") -> str:
    """The text-format ``ModelServerConfig``.

    ``versions``: ``latest`` (serve the newest version, TF Serving's default), ``all``,
    or a comma-separated list of versions to pin (``3`` or ``2,3``).
    """
    if versions == "latest":
        policy = "latest { num_versions: 1 }"
    elif versions == "all":
        policy = "all {}"
    else:
        numbers = [int(v) for v in versions.split(",")]
        policy = "specific { " + " ".join(f"versions: {v}" for v in numbers) + " }"
    blocks = []
    for name in names:
        path = f"{container_base.rstrip('/')}/{name}"
        blocks.append("  config {\n"
                      f"    name: \"{name}\"\n"
                      f"    base_path: \"{path}\"\n"
                      "    model_platform: \"tensorflow\"\n"
                      f"    model_version_policy {{ {policy} }}\n"
                      "  }")
    return "model_config_list {\n" + "\n".join(blocks) + "\n}\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the export base folder (BASE/NAME/VERSION)")
    parser.add_argument("--container-base", default="/models",
                        help="where BASE is mounted in the container (default /models)")
    parser.add_argument("--versions", default="latest",
                        help="latest (default) | all | comma-separated versions to pin")
    parser.add_argument("--out", default="-", help="output file (default: stdout)")
    parser.add_argument("--scann", action="store_true",
                        help="also list ScaNN-backed exports (TF Serving built with ScaNN)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.base):
        parser.error(f"not a folder: {args.base}")
    names = find_models(args.base, scann=args.scann)
    skipped = sorted(set(find_models(args.base)) - set(names))
    if skipped:
        print(f"left out (need ScaNN's ops; pass --scann to list them): {', '.join(skipped)}",
              file=sys.stderr)
    if not names:
        parser.error(f"no BASE/NAME/VERSION/saved_model.pb under {args.base}")
    text = models_config(names, args.container_base, args.versions)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}: {', '.join(names)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
