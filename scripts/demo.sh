#!/usr/bin/env bash
# make demo: train the bundled MovieLens example with a freshly generated
# development key ring, then serve it on 127.0.0.1:8080 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/recotem}
STATE=var/demo
mkdir -p "$STATE"
if [ ! -s "$STATE/keys.env" ]; then
  sign=$("$BIN" keygen --type signing --kid demo | sed -n 's/^ *env_entry=//p')
  api_out=$("$BIN" keygen --type api --kid demo-client)
  api_plain=$(printf '%s\n' "$api_out" | sed -n 's/^ *plaintext=//p')
  api_entry=$(printf '%s\n' "$api_out" | sed -n 's/^ *env_entry=//p')
  umask 077
  {
    printf 'export %s\n' "$sign"
    printf 'export %s\n' "$api_entry"
    printf 'export RECOTEM_API_PLAINTEXT=%s\n' "$api_plain"
  } > "$STATE/keys.env"
fi
# shellcheck disable=SC1091
source "$STATE/keys.env"
PORT=${RECOTEM_PORT:-8080}

echo "== training examples/movielens/recipe.yaml (this searches several algorithms; a minute or two on 2 cores)"
"$BIN" train examples/movielens/recipe.yaml 2> "$STATE/train.log" &
train_pid=$!
# Progress from the structured log: one line per phase and per trial.
tail -n +1 -f --pid="$train_pid" "$STATE/train.log" 2>/dev/null | awk '
  function field(k,   m) { if (match($0, "\"" k "\":\"?[^\",}]*")) { m = substr($0, RSTART, RLENGTH); sub(/^"[^"]*":"?/, "", m); return m } return "" }
  /"event":"data_cleansed"/  { printf "   data: %s interactions after cleansing\n", field("n_rows"); fflush() }
  /"event":"search_started"/ { total = field("n_trials"); printf "   searching %s trials\n", total; fflush() }
  /"event":"trial_done"/     { n++; s = field("score") + 0; a = field("algorithm"); sub(/Recommender$/, "", a)
                               if (s > best) { best = s; ba = a }
                               printf "   trial %d/%s  %-10s score %.4f  (best %.4f %s)\n", n, total, a, s, best, ba; fflush() }
  /"event":"final_model_trained"/ { printf "   refit %s on all rows\n", field("recommender"); fflush() }'
wait "$train_pid" || {
  echo "training failed; last log lines:" >&2; tail -5 "$STATE/train.log" >&2; exit 1; }
grep '"event":"train_done"' "$STATE/train.log" | tail -1

user=$(awk -F, 'NR==2{print $1}' ../shared/data/movielens/ratings.csv 2>/dev/null || echo 1)
cat <<MSG

== serving on http://127.0.0.1:${PORT}  (Ctrl-C to stop)
API key (demo only, also in $STATE/keys.env):  ${RECOTEM_API_PLAINTEXT}

  curl -s -X POST http://127.0.0.1:${PORT}/predict/movielens \\
       -H "X-API-Key: ${RECOTEM_API_PLAINTEXT}" -H 'Content-Type: application/json' \\
       -d '{"user_id":"${user}","cutoff":5}'

  curl -s -X POST 'http://127.0.0.1:${PORT}/v1/recipes/movielens:recommend' \\
       -H "X-API-Key: ${RECOTEM_API_PLAINTEXT}" -H 'Content-Type: application/json' \\
       -d '{"user_id":"${user}","limit":5}'

  curl -s http://127.0.0.1:${PORT}/health

MSG
exec "$BIN" serve --recipes examples/movielens --port "$PORT"
