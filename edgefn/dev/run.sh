#!/usr/bin/env bash
# edgefn/dev/run.sh — what `make run` does: make dev keys if missing,
# publish examples/shop to a local folder store, serve it with edgefn on
# 127.0.0.1:8080 and print curl lines that work against it. Ctrl-C stops it.
#
#   DEV=.dev ADDR=127.0.0.1:8080 ENV=production edgefn/dev/run.sh
#
# Expects bin/edgeflag and bin/edgefn (make run builds them). Everything it
# writes is under $DEV: signing.key (+ .jwks.json), token.key, api-key
# (the dev API key's secret), api-keys.yaml (its hash), store/, cache/.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEV=${DEV:-.dev}
ADDR=${ADDR:-127.0.0.1:8080}
ENV=${ENV:-production}
EDGEFLAG=${EDGEFLAG:-bin/edgeflag}
EDGEFN=${EDGEFN:-bin/edgefn}

mkdir -p "$DEV"
[ -f "$DEV/signing.key" ] || "$EDGEFLAG" keygen --out "$DEV/signing.key" >/dev/null
[ -f "$DEV/token.key" ] || "$EDGEFLAG" keygen --out "$DEV/token.key" >/dev/null
if [ ! -f "$DEV/api-key" ] || [ ! -f "$DEV/api-keys.yaml" ]; then
	out=$("$EDGEFLAG" apikey --name dev --scopes flags:read,tokens:issue,events:write)
	(umask 077 && printf '%s\n' "$out" | sed -n 's/^secret: //p' >"$DEV/api-key")
	{ echo "keys:"; printf '%s\n' "$out" | sed -n '/^- name:/,$p' | sed 's/^/  /'; } >"$DEV/api-keys.yaml"
fi
API_KEY=$(cat "$DEV/api-key")

# Webhook secrets are not set here, so the example project's webhooks are
# reported as not delivered; nothing leaves the machine.
env -u EDGEFLAG_WEBHOOK_SECRET "$EDGEFLAG" publish examples/shop --env "$ENV" --key "$DEV/signing.key" \
	--store "file://$DEV/store" --reason "make run" --actor dev 2>/dev/null | tail -1 | sed 's/^/published version /'

rm -f "$DEV/ready"
"$EDGEFN" serve --store "file://$DEV/store" --project shop --env "$ENV" --jwks "$DEV/signing.key.jwks.json" \
	--api-keys "$DEV/api-keys.yaml" --token-key "$DEV/token.key" --addr "$ADDR" --cache-dir "$DEV/cache" \
	--refresh-interval 2s --ready-file "$DEV/ready" 2>"$DEV/edgefn.log" &
pid=$!
stop() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	exit 0
}
trap stop INT TERM
for _ in $(seq 1 100); do
	[ -s "$DEV/ready" ] && break
	kill -0 "$pid" 2>/dev/null || { echo "edgefn did not start; see $DEV/edgefn.log:" >&2; tail -5 "$DEV/edgefn.log" >&2; exit 2; }
	sleep 0.1
done
URL=$(cat "$DEV/ready")

mint='{"subject":"user-123","attributes":{"plan":"pro","country":"US"},"scopes":["bootstrap","evaluate","track"],"ttlSeconds":3600}'
TOKEN=$(curl -sf -X POST "$URL/v1/tokens" -H "X-API-Key: $API_KEY" -H 'Content-Type: application/json' -d "$mint" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || { echo "could not mint a dev token" >&2; stop; }

cat <<EOT

edgefn serves shop/$ENV from $DEV/store on $URL (logs: $DEV/edgefn.log)
dev API key (flags:read, tokens:issue, events:write): $API_KEY

# OFREP: evaluate one flag with the API key
curl -s -X POST $URL/ofrep/v1/evaluate/flags/new-checkout -H 'X-API-Key: $API_KEY' -H 'Content-Type: application/json' -d '{"context":{"targetingKey":"user-123","email":"ana@example.com","plan":"pro","country":"US"}}'
# OFREP bulk: every flag for one context
curl -s -X POST $URL/ofrep/v1/evaluate/flags -H 'X-API-Key: $API_KEY' -H 'Content-Type: application/json' -d '{"context":{"targetingKey":"user-123","plan":"pro","country":"US","age":34}}'
# mint a client token (valid 1 hour)
curl -s -X POST $URL/v1/tokens -H 'X-API-Key: $API_KEY' -H 'Content-Type: application/json' -d '$mint'
# bootstrap with the token minted above: the signed client bundle, then the signed values for user-123
curl -s $URL/v1/bootstrap -H 'Authorization: Bearer $TOKEN'
curl -s '$URL/v1/bootstrap?mode=values' -H 'Authorization: Bearer $TOKEN'
# health
curl -s $URL/healthz

Press Ctrl-C to stop.
EOT
wait "$pid"
