"""Writes one tfdeeprec split as RecBole atomic files, so a peer trains and tests on it.

    python bench/peers/split_files.py DATA OUT [--split user_ratio] [--seed 0] [--name NAME]
        [--item-lists 50] [--drop-rating 3] [--features] [--sample-users N]

writes ``OUT/NAME/NAME.{train,valid,test}.inter`` (``user_id:token item_id:token
rating:float timestamp:float``, tab-separated) from ``prepare_data`` with the same
arguments ``tfdeeprec train`` uses, and prints the folder. RecBole reads them with
``benchmark_filename: [train, valid, test]``.

Options for the other protocols:

* ``--item-lists N`` (sequential models, with ``--split leave_one_out``): RecBole does not
  augment pre-split files, so each row also carries ``item_id_list:token_seq``, the user's
  previous items (at most the last N, oldest first): every training item after the first
  is a target with the training items before it, the validation item has the user's
  training items, the test item the training and validation items. The order is by
  timestamp (ties: as the split's rows come).
* ``--drop-rating R`` (CTR models): rows rated R are left out before the split, as
  ``tfdeeprec train --task ctr --drop-ratings R`` does (RecBole's ``val_interval`` would
  drop them after loading, which with pre-split files would move the files' boundaries).
* ``--features`` (CTR models): the features of tfdeeprec's CTR view on both sides:
  ``NAME.user`` is DATA's ``*.user`` with ``zip_code`` cut to its first three
  characters (``zip_prefix:token``), ``NAME.item`` is DATA's ``*.item``, and each
  ``.inter`` row also carries the ``hour:token`` and ``weekday:token`` of its timestamp
  (UTC).
* ``--sample-users N``: keeps N users (seeded) before splitting, for quick peer checks;
  such a split is not what ``tfdeeprec train`` makes on DATA.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"
LIST_HEADER = "\titem_id_list:token_seq"
TIME_HEADER = "\thour:token\tweekday:token"


def write_split(data, out, *, split="user_ratio", ratios=(0.8, 0.1, 0.1), seed=0,
                name="split", item_lists=None, drop_rating=None, features=False,
                sample_users=None) -> Path:
    import numpy as np

    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec.data import load_interactions, prepare_data

    frame = load_interactions(data)
    if sample_users:
        df = frame.interactions
        users = np.sort(df["user_id"].unique())
        keep = np.random.default_rng(seed).choice(users, min(sample_users, len(users)),
                                                  replace=False)
        frame = frame.with_interactions(df[df["user_id"].isin(keep)].reset_index(drop=True))
    if drop_rating is not None:  # before the split, as tfdeeprec's CTR view
        df = frame.interactions
        frame = frame.with_interactions(
            df[df["rating"] != float(drop_rating)].reset_index(drop=True))
    prepared = prepare_data(frame, split=split, ratios=ratios, seed=seed)
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for part, frame_part in zip(("train", "valid", "test"), prepared.split):
        df = frame_part.interactions
        rows = list(zip(df["user_id"].astype(str),
                        df["item_id"].astype(str),
                        df["rating"] if "rating" in df else [1.0] * len(df),
                        df["timestamp"] if "timestamp" in df else [0] * len(df)))
        parts[part] = rows
    history = {}  # user -> items so far, in time order (item lists only)
    for part in ("train", "valid", "test"):
        rows = parts[part]
        lines = []
        if item_lists:
            rows = sorted(rows, key=lambda r: (r[0], r[3]))  # stable: ties keep row order
        for user, item, rating, stamp in rows:
            line = f"{user}\t{item}\t{rating}\t{stamp}"
            if features:
                when = time.gmtime(int(stamp))
                line += f"\t{when.tm_hour}\t{when.tm_wday}"
            if item_lists:
                seen = history.setdefault(user, [])
                if seen:
                    lines.append(line + "\t" + " ".join(seen[-item_lists:]))
                if part == "train":
                    seen.append(item)
            else:
                lines.append(line)
        if item_lists and part == "valid":
            for user, item, *_ in rows:
                history[user].append(item)
        with open(folder / f"{name}.{part}.inter", "w") as f:
            f.write(HEADER + (LIST_HEADER if item_lists else "")
                    + (TIME_HEADER if features else "") + "\n")
            f.writelines(line + "\n" for line in lines)
    if features:
        for kind in ("user", "item"):
            found = sorted(Path(data).glob(f"*.{kind}"))
            if not found:
                raise SystemExit(f"--features: no *.{kind} file in {data}")
            if kind == "item":
                shutil.copyfile(found[0], folder / f"{name}.{kind}")
                continue
            lines = found[0].read_text().splitlines()
            header = lines[0].split("\t")
            at = header.index("zip_code:token")
            header[at] = "zip_prefix:token"
            cut = [line.split("\t") for line in lines[1:]]
            for fields in cut:
                fields[at] = fields[at][:3]
            (folder / f"{name}.user").write_text(
                "\n".join("\t".join(f) for f in [header, *cut]) + "\n")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--split", default="user_ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="split")
    parser.add_argument("--item-lists", type=int, default=None, metavar="N")
    parser.add_argument("--drop-rating", type=float, default=None, metavar="R")
    parser.add_argument("--features", action="store_true")
    parser.add_argument("--sample-users", type=int, default=None, metavar="N")
    args = parser.parse_args(argv)
    print(write_split(args.data, args.out, split=args.split, seed=args.seed, name=args.name,
                      item_lists=args.item_lists, drop_rating=args.drop_rating,
                      features=args.features, sample_users=args.sample_users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
