#!/usr/bin/env bash
# Checks every service's OpenAPI against what it really answers: schemathesis (every check,
# bounded and seeded) against `kuaiche up --demo` on a throwaway embedded data dir, once with a
# commander token and once with a county token (滨城区, whose demo resources fill the path
# parameters: what it may not see answers 403/404, never a 5xx, every error problem+json).
# Fails if any service has a failure in either pass.
#
#   scripts/schemathesis.sh                 every service
#   scripts/schemathesis.sh registry        one service
#
# Environment: KUAICHE_ST_PORT_BASE (default 18100: service ports are base+1, base+2, ...),
#              KUAICHE_ST_MAX_EXAMPLES (default 10: the commander's pass),
#              KUAICHE_ST_COUNTY_MAX_EXAMPLES (default 4: the county's pass, which mostly
#              meets refusals and skips the coverage phase: the schemas' edges are the same
#              for every token), KUAICHE_ST_SEED (default 11).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
BASE="${KUAICHE_ST_PORT_BASE:-18100}"
EXAMPLES="${KUAICHE_ST_MAX_EXAMPLES:-10}"
COUNTY_EXAMPLES="${KUAICHE_ST_COUNTY_MAX_EXAMPLES:-4}"
COUNTY=371602
SEED="${KUAICHE_ST_SEED:-11}"
say() { echo "schemathesis.sh: $*" >&2; }

read -r -a ALL <<<"$("$PY" -c 'from kuaiche.services import SERVICES; print(*SERVICES)')"
SELECTED=("$@")
(( ${#SELECTED[@]} )) || SELECTED=("${ALL[@]}")

DATA="$(mktemp -d)"
declare -A PORT
i=1
for s in "${ALL[@]}"; do
    PORT[$s]=$((BASE + i))
    export "KUAICHE_${s^^}_PORT=${PORT[$s]}"
    i=$((i + 1))
done
export KUAICHE_GATEWAY_PORT="$BASE"  # the console's gateway, off the default :8000
# The embedded default, whatever this shell points at.
unset KUAICHE_DATABASE_URL KUAICHE_KAFKA_BOOTSTRAP
for s in "${ALL[@]}"; do unset "KUAICHE_${s^^}_DATABASE_URL" "KUAICHE_${s^^}_KAFKA_BOOTSTRAP"; done

say "kuaiche up --demo (data dir $DATA, ports $((BASE + 1))..$((BASE + ${#ALL[@]})))"
.venv/bin/kuaiche up --demo --data-dir "$DATA" >"$DATA/up.log" 2>&1 &
UP=$!
cleanup() { kill "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for s in "${ALL[@]}"; do
    for _ in $(seq 1 600); do
        "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:${PORT[$s]}/livez" >/dev/null 2>&1 && break
        kill -0 "$UP" 2>/dev/null || { cat "$DATA/up.log" >&2; say "kuaiche up died"; exit 1; }
        sleep 0.5
    done
done
declare -A TOKEN MAX PHASES
TOKEN[commander]="$(.venv/bin/kuaiche token --role commander --data-dir "$DATA")"
TOKEN[county]="$(.venv/bin/kuaiche token --role county --county "$COUNTY" --data-dir "$DATA")"
MAX[commander]="$EXAMPLES"
MAX[county]="$COUNTY_EXAMPLES"
PHASES[commander]=examples,coverage,fuzzing,stateful
PHASES[county]=examples,fuzzing,stateful
# schemathesis.toml plus the ids of demo resources for the path parameters, as each token lists
# them (the county's own projects, problems, inbox...).
pairs=()
for s in "${ALL[@]}"; do pairs+=("$s=${PORT[$s]}"); done
for who in commander county; do
    "$PY" scripts/schemathesis_params.py "$DATA/schemathesis-$who.toml" "${TOKEN[$who]}" "${pairs[@]}"
done

failed=()
for who in commander county; do
    for s in "${SELECTED[@]}"; do
        say "$s as $who: st run --checks all --phases ${PHASES[$who]} --max-examples ${MAX[$who]}"
        if ! PYTHONPATH="$ROOT" .venv/bin/st --config-file "$DATA/schemathesis-$who.toml" run \
            "http://127.0.0.1:${PORT[$s]}/openapi.json" \
            --checks all --phases "${PHASES[$who]}" --max-examples "${MAX[$who]}" --seed "$SEED" \
            -H "Authorization: Bearer ${TOKEN[$who]}" --no-color; then
            failed+=("$s as $who")
        fi
    done
done
if (( ${#failed[@]} )); then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "every selected service's OpenAPI holds, for the command office and a county (${SELECTED[*]})"
