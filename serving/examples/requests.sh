#!/usr/bin/env bash
# TF Serving REST requests for a tfdeeprec export, with curl.
# Works against real TF Serving and against `tfdeeprec serve` (same API).
#
#   MODEL=neumf USER_ID=196 ITEM_ID=242 serving/examples/requests.sh
#   URL=http://127.0.0.1:8501 MODEL=neumf serving/examples/requests.sh
#
# Every request must answer 2xx (curl --fail); the script stops at the first error.
set -euo pipefail

URL="${URL:-http://127.0.0.1:8501}"
MODEL="${MODEL:?set MODEL to the model name (its folder under the model base)}"
USER_ID="${USER_ID:-1}"
ITEM_ID="${ITEM_ID:-1}"
K="${K:-10}"

req() {  # req METHOD PATH [JSON]
  echo "### $1 $2" >&2
  if [ $# -ge 3 ]; then
    curl --fail-with-body -sS -X "$1" -H 'Content-Type: application/json' \
      --data "$3" "$URL$2"
  else
    curl --fail-with-body -sS -X "$1" "$URL$2"
  fi
  echo
}

# Version status of the served model (the newest version on disk).
req GET "/v1/models/$MODEL"

# Signatures, with their input and output dtypes and shapes.
req GET "/v1/models/$MODEL/metadata"

# score, row format: one object per (user, item) pair -> {"predictions": [...]}.
req POST "/v1/models/$MODEL:predict" \
  "{\"signature_name\": \"score\", \"instances\": [{\"user_id\": \"$USER_ID\", \"item_id\": \"$ITEM_ID\"}, {\"user_id\": \"$USER_ID\", \"item_id\": \"no-such-item\"}]}"

# recommend, columnar format (k is a scalar input): -> {"outputs": {"item_ids", "scores"}}.
# exclude is one row per user, padded with "" to a common width.
req POST "/v1/models/$MODEL:predict" \
  "{\"signature_name\": \"recommend\", \"inputs\": {\"user_id\": [\"$USER_ID\"], \"k\": $K, \"exclude\": [[\"$ITEM_ID\"]]}}"
