#!/usr/bin/env bash
# Runs every Fuzz target of every workspace module for $1 (default 10s).
set -euo pipefail
t=${1:-10s}
for m in $(go list -m -f '{{.Dir}}'); do
  (cd "$m"
   for pkg in $(go list ./...); do
     for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
       echo "== fuzz $pkg $f ($t)"
       go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
     done
   done)
done
