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

# Live data: a simulated line publishes over MQTT, the zero-config collector writes it into the trace store
# and raises a limit alarm on the planted excursion (docs/collectors.md).
echo
echo "== live data: tracereport simulate mqtt -> tracereport collect --mqtt (about 15 s)"
bash scripts/services.sh
mkdir -p data/journal
since=$(date -u +%FT%T.000Z)
bin/tracereport collect --mqtt mqtt://127.0.0.1:1883 --journal data/journal 2> data/collect.log &
collector=$!
for _ in $(seq 1 50); do grep -q "collecting from" data/collect.log 2>/dev/null && break; sleep 0.2; done
bin/tracereport simulate mqtt --broker mqtt://127.0.0.1:1883 --rate 2 --duration 10 --excursion-at "$since" --excursion-for 60
sleep 2
kill -TERM "$collector"
wait "$collector" || true
SINCE="$since" node -e '
  const Database = require("better-sqlite3");
  const db = new Database("data/tracereport.sqlite", { readonly: true });
  const since = process.env.SINCE;
  const n = db.prepare("select count(*) as n from sample where ts >= ?").get(since).n;
  const alarms = db.prepare("select a.rule, e.code, a.parameter, a.value, a.limit_value from alarm a join equipment e on e.id = a.equipment_id where a.raised_at >= ? order by a.id").all(since);
  console.log(`${n} live samples stored; alarms raised: ${alarms.map((a) => `${a.rule} ${a.code}/${a.parameter} = ${a.value.toFixed(1)} (limit ${a.limit_value})`).join(", ") || "none"}`);
'

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
