#!/usr/bin/env python3
"""A dependency-free REST client for a tfdeeprec export behind TF Serving or `tfdeeprec serve`.

Standard library only (urllib). It asks for the model's status and metadata, scores
(user, item) pairs with the row format, and asks for recommendations with the columnar
format. Both formats are plain TF Serving REST: `recommend`'s `k` is a scalar (no batch
dimension), which TF Serving accepts in the columnar format only, so that is what this
client sends.

    python serving/examples/client.py --url http://127.0.0.1:8501 --model neumf \
        --user 196 --items 242,302,377 --k 10 --exclude 242

Prints one JSON document; exits 1 (with the server's {"error": ...}) on a failed request.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request


def call(url: str, path: str, body: dict | None = None, timeout: float = 30.0) -> dict:
    """GET (no body) or POST (JSON body) ``url + path``; returns the parsed JSON answer."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + path, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        raise SystemExit(f"{err.code} from {path}: {detail}") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501")
    parser.add_argument("--model", required=True, help="the model name (folder under BASE)")
    parser.add_argument("--version", type=int, default=None, help="default: the newest")
    parser.add_argument("--user", default="1", help="a raw user ID")
    parser.add_argument("--items", default="1,2,3", help="comma-separated raw item IDs")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--exclude", default="", help="comma-separated item IDs to skip")
    args = parser.parse_args(argv)

    model = f"/v1/models/{args.model}"
    if args.version is not None:
        model += f"/versions/{args.version}"
    items = [i for i in args.items.split(",") if i]
    exclude = [i for i in args.exclude.split(",") if i]

    status = call(args.url, model)
    metadata = call(args.url, model + "/metadata")
    signatures = sorted(metadata["metadata"]["signature_def"]["signature_def"])
    score = call(args.url, model + ":predict", {
        "signature_name": "score",
        "instances": [{"user_id": args.user, "item_id": item} for item in items]})
    recommend = call(args.url, model + ":predict", {
        "signature_name": "recommend",
        "inputs": {"user_id": [args.user], "k": args.k, "exclude": [exclude]}})
    print(json.dumps({
        "status": status["model_version_status"],
        "version": metadata["model_spec"]["version"],
        "signatures": signatures,
        "scores": [{"item_id": item, **p} for item, p in zip(items, score["predictions"])],
        "recommendations": [{"item_id": i, "score": s} for i, s in zip(
            recommend["outputs"]["item_ids"][0], recommend["outputs"]["scores"][0])],
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
