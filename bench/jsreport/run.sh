#!/usr/bin/env bash
# TraceReport vs jsreport, side by side on the same rows (bench/jsreport/README.md).
# Installs this folder's pinned jsreport packages on first use (never a TraceReport dependency), runs the jsreport
# side, then the TraceReport side (dist/bench/jsreport-compare.js, built by `npm run build`) and prints both with the ratio.
#
#   bench/jsreport/run.sh [--case xlsx|pdf|all] [--xlsx-rows 10000[,100000]] [--pdf-rows 2000] [--runs 3]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -d "$here/node_modules" ]; then
  echo "installing the jsreport benchmark packages into bench/jsreport/node_modules (once)"
  # No browser download: both sides use Debian's /usr/bin/chromium. No install scripts are needed.
  (cd "$here" && PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_HEADLESS_SHELL_DOWNLOAD=1 \
    npm ci --ignore-scripts --no-audit --no-fund)
fi

# Arguments: [--xlsx-rows N[,N]] [--pdf-rows N[,N]] [--runs R] [--case xlsx|pdf|all]
xlsx_rows=10000 pdf_rows=2000 runs=3 which=all
while [ $# -gt 0 ]; do
  case "$1" in
    --xlsx-rows) xlsx_rows="$2"; shift 2 ;;
    --pdf-rows) pdf_rows="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --case) which="$2"; shift 2 ;;
    *) echo "unknown argument $1; known: --case xlsx|pdf|all, --xlsx-rows N[,N], --pdf-rows N[,N], --runs R" >&2; exit 2 ;;
  esac
done

out="$root/bench/out/jsreport"
mkdir -p "$out"
files=()
# One process per case, so each peak RSS is that case's own.
if [ "$which" = xlsx ] || [ "$which" = all ]; then
  for n in ${xlsx_rows//,/ }; do
    node "$here/jsreport-side.mjs" --case xlsx --xlsx-rows "$n" --runs "$runs" --out "$out" --json "$out/jsreport-xlsx-$n.json"
    files+=("$out/jsreport-xlsx-$n.json")
  done
fi
if [ "$which" = pdf ] || [ "$which" = all ]; then
  for n in ${pdf_rows//,/ }; do
    node "$here/jsreport-side.mjs" --case pdf --pdf-rows "$n" --runs "$runs" --out "$out" --json "$out/jsreport-pdf-$n.json"
    files+=("$out/jsreport-pdf-$n.json")
  done
fi

if [ -f "$root/dist/bench/jsreport-compare.js" ]; then
  list="$(IFS=,; echo "${files[*]}")"
  node "$root/dist/bench/jsreport-compare.js" --jsreport "$list" --out "$out"
else
  echo "dist/bench/jsreport-compare.js is missing: run 'npm run build' for the TraceReport side; jsreport figures only"
fi
