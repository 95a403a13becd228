#!/usr/bin/env bash
# Installs everything, generates the demo plant into the embedded SQLite trace store (once; a second run
# writes nothing new) and traces the planted incident backward and forward.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p data
bin/tracereport demo generate --json > data/demo-incident.json
node -e '
  const d = JSON.parse(require("fs").readFileSync("data/demo-incident.json", "utf8"));
  const i = d.incident;
  console.log(`\nDemo plant: ${d.lots} lots in data/tracereport.sqlite (${d.written} new events written now${d.written ? "" : ": it was already there"})`);
  console.log(`Planted incident: supplier lot ${i.supplierLot} (${i.material} from ${i.supplier}) pushed ${i.parameter} out of spec;`);
  console.log(`it reached ${i.finishedLots.length} finished lots and ${i.customers.length} customers.\n`);
'
lot_fwd=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("data/demo-incident.json","utf8")).incident.supplierLot)')
lot_bwd=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("data/demo-incident.json","utf8")).incident.sampleFinishedLot)')
echo "== tracereport trace backward $lot_bwd --detail"
bin/tracereport trace backward "$lot_bwd" --detail
echo
echo "== tracereport trace forward $lot_fwd   (the recall list)"
bin/tracereport trace forward "$lot_fwd"

# The built-in reports over the planted incident (templates/*.json; docs/template-format.md).
mkdir -p data/reports
param=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("data/demo-incident.json","utf8")).incident.parameter)')
equipment=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("data/demo-incident.json","utf8")).incident.equipment[0])')
echo
echo "== built-in reports of the incident, into data/reports/"
render() { echo "tracereport render $*"; bin/tracereport render "$@"; }
render batch-trace --param lot="$lot_bwd" -o "data/reports/batch-trace-$lot_bwd.pdf"
render batch-trace --param lot="$lot_bwd" -o "data/reports/batch-trace-$lot_bwd.xlsx"
render recall --param lot="$lot_fwd" -o "data/reports/recall-$lot_fwd.pdf"
render recall --param lot="$lot_fwd" -o "data/reports/recall-$lot_fwd.xlsx"
render material-flow --param lot="$lot_fwd" -o "data/reports/material-flow-$lot_fwd.html"
render process-parameters --param parameter="$param" -o "data/reports/process-parameters-$param.html"
render spc --param equipment="$equipment" --param parameter="$param" -o "data/reports/spc-$equipment-$param.pdf"
render inspection-summary -o data/reports/inspection-summary.xlsx
