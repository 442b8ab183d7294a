#!/usr/bin/env bash
# Builds Jaeger (all-in-one: OTLP/HTTP receiver on :4318, query API on :16686) from the Go module proxy
# into a cache folder outside the checkout, once per machine; later runs reuse the binary.
# Prints the binary's path. Needs Go (/usr/local/go/bin/go or on PATH); exits 3 when Go is missing.
set -euo pipefail
VERSION=v1.75.0
CACHE="${PILOT_TOOL_CACHE:-/var/cache/pilot-fleet}"
OUT="$CACHE/jaeger-$VERSION/jaeger"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
GO="$(command -v go || true)"; [ -n "$GO" ] || GO=/usr/local/go/bin/go
[ -x "$GO" ] || { echo "go not found: cannot build jaeger" >&2; exit 3; }
mkdir -p "$CACHE/go" "$CACHE/gocache" "$CACHE/jaeger-$VERSION"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
export GOPATH="$CACHE/go" GOCACHE="$CACHE/gocache" GOFLAGS=-mod=mod GOTOOLCHAIN=local
"$GO" mod init jt >/dev/null 2>&1
"$GO" get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION" >&2
"$GO" build -o "$OUT.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2
mv "$OUT.tmp" "$OUT"
echo "$OUT"
