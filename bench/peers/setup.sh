#!/usr/bin/env bash
# Makes a peer's own virtual environment under bench/peers/.venvs/PEER (never shared with
# tfdeeprec's: RecBole 1.2.1 needs numpy<2). Prints its Python. Idempotent.
#
#   bash bench/peers/setup.sh recbole | surprise | implicit
#
# RecBole: CPU torch 2.13.0 (the file pip finds on this machine's disk), then recbole 1.2.1
# with the pins it still needs (see ../shared/PEERS.md). Surprise: scikit-surprise 1.1.5.
# implicit: implicit 0.7.3 (a binary wheel; CPU only).
set -euo pipefail
peer="${1:?usage: setup.sh recbole|surprise|implicit}"
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venvs/$peer"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ]; then
  "$python" -m venv "$venv"
  case "$peer" in
    recbole)
      "$venv/bin/pip" install -q torch==2.13.0 >&2
      "$venv/bin/pip" install -q recbole==1.2.1 'numpy<2' 'pandas<2.3' 'scipy<1.14' \
        'scikit-learn<1.6' >&2 ;;
    surprise)
      "$venv/bin/pip" install -q scikit-surprise==1.1.5 >&2 ;;
    implicit)
      "$venv/bin/pip" install -q implicit==0.7.3 >&2 ;;
    *) echo "unknown peer: $peer" >&2; exit 2 ;;
  esac
  touch "$venv/.installed"
fi
echo "$venv/bin/python"
