"""Writes one tfdeeprec split as RecBole atomic files, so a peer trains and tests on it.

    python bench/peers/split_files.py DATA OUT [--split user_ratio] [--seed 0]

writes ``OUT/NAME/NAME.{train,valid,test}.inter`` (``user_id:token item_id:token
rating:float timestamp:float``, tab-separated) from ``prepare_data`` with the same
arguments ``tfdeeprec train`` uses, and prints the folder. RecBole reads them with
``benchmark_filename: [train, valid, test]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def write_split(data, out, *, split="user_ratio", ratios=(0.8, 0.1, 0.1), seed=0,
                name="split") -> Path:
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec.data import load_interactions, prepare_data

    frame = load_interactions(data)
    prepared = prepare_data(frame, split=split, ratios=ratios, seed=seed)
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    for part, frame_part in zip(("train", "valid", "test"), prepared.split):
        df = frame_part.interactions
        rating = df["rating"] if "rating" in df else 1.0
        stamp = df["timestamp"] if "timestamp" in df else 0
        with open(folder / f"{name}.{part}.inter", "w") as f:
            f.write(HEADER)
            for row in zip(df["user_id"], df["item_id"], df.assign(r=rating)["r"],
                           df.assign(t=stamp)["t"]):
                f.write("\t".join(str(v) for v in row) + "\n")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--split", default="user_ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="split")
    args = parser.parse_args(argv)
    print(write_split(args.data, args.out, split=args.split, seed=args.seed, name=args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
