#!/usr/bin/env bash
# Installs everything, generates the demo plant into the embedded SQLite trace store (once; a second run
# writes nothing new), traces the planted incident backward and forward, renders its built-in reports,
# then starts the server with live data: a simulated line publishes over MQTT and the zero-config
# collector writes it into the trace store while the server runs. Ctrl-C stops all of it.
#   TRACEREPORT_PORT (default 8080), TRACEREPORT_ADMIN_PASSWORD (default: a random one kept in data/),
#   TRACEREPORT_DEMO_DATA (default data), TRACEREPORT_SKIP_SETUP=1 (already installed and built).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${TRACEREPORT_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
data=${TRACEREPORT_DEMO_DATA:-data}
port=${TRACEREPORT_PORT:-8080}
mkdir -p "$data"
db="$data/tracereport.sqlite"
bin/tracereport demo generate --db "$db" --json > "$data/demo-incident.json"
incident() { node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval(process.argv[2]))' "$data/demo-incident.json" "$1"; }
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const i = d.incident;
  console.log(`\nDemo plant: ${d.lots} lots in ${process.argv[2]} (${d.written} new events written now${d.written ? "" : ": it was already there"})`);
  console.log(`Planted incident: supplier lot ${i.supplierLot} (${i.material} from ${i.supplier}) pushed ${i.parameter} out of spec;`);
  console.log(`it reached ${i.finishedLots.length} finished lots and ${i.customers.length} customers.\n`);
' "$data/demo-incident.json" "$db"
lot_fwd=$(incident d.incident.supplierLot)
lot_bwd=$(incident d.incident.sampleFinishedLot)
echo "== tracereport trace backward $lot_bwd --detail"
bin/tracereport trace backward "$lot_bwd" --db "$db" --detail
echo
echo "== tracereport trace forward $lot_fwd   (the recall list)"
bin/tracereport trace forward "$lot_fwd" --db "$db"

# Live data: a simulated line publishes over MQTT and the zero-config collector writes it into the trace store
# (docs/collectors.md); both run until the demo stops. The simulator records the operations its machines run in
# the store (--db), so the collector judges each sample on the spec of the product running: the planted excursion
# raises a limit alarm on the product's USL.
echo
echo "== live data: tracereport simulate mqtt -> tracereport collect --mqtt (runs while the server runs)"
bash scripts/services.sh
mkdir -p "$data/journal"
since=$(date -u +%FT%T.000Z)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bin/tracereport collect --mqtt mqtt://127.0.0.1:1883 --db "$db" --journal "$data/journal" 2> "$data/collect.log" &
pids+=($!)
for _ in $(seq 1 50); do grep -q "collecting from" "$data/collect.log" 2>/dev/null && break; sleep 0.2; done
bin/tracereport simulate mqtt --broker mqtt://127.0.0.1:1883 --rate 2 --excursion-at "$since" --excursion-for 60 --db "$db" > "$data/simulate.log" 2>&1 &
pids+=($!)

# The built-in reports over the planted incident (templates/*.json; docs/template-format.md).
mkdir -p "$data/reports"
param=$(incident d.incident.parameter)
equipment=$(incident d.incident.equipment[0])
echo "== built-in reports of the incident, into $data/reports/"
render() { echo "tracereport render $*"; bin/tracereport render --db "$db" "$@"; }
render batch-trace --param lot="$lot_bwd" -o "$data/reports/batch-trace-$lot_bwd.pdf"
render batch-trace --param lot="$lot_bwd" -o "$data/reports/batch-trace-$lot_bwd.xlsx"
render recall --param lot="$lot_fwd" -o "$data/reports/recall-$lot_fwd.pdf"
render recall --param lot="$lot_fwd" -o "$data/reports/recall-$lot_fwd.xlsx"
render material-flow --param lot="$lot_fwd" -o "$data/reports/material-flow-$lot_fwd.html"
render process-parameters --param parameter="$param" -o "$data/reports/process-parameters-$param.html"
render spc --param equipment="$equipment" --param parameter="$param" -o "$data/reports/spc-$equipment-$param.pdf"
render inspection-summary -o "$data/reports/inspection-summary.xlsx"

echo
SINCE="$since" node -e '
  const Database = require("better-sqlite3");
  const db = new Database(process.argv[1], { readonly: true });
  const since = process.env.SINCE;
  const n = db.prepare("select count(*) as n from sample where ts >= ?").get(since).n;
  const alarms = db.prepare("select a.rule, e.code, a.parameter, a.value, a.limit_value from alarm a join equipment e on e.id = a.equipment_id where a.raised_at >= ? order by a.id").all(since);
  console.log(`live data so far: ${n} samples stored; alarms raised: ${alarms.map((a) => `${a.rule} ${a.code}/${a.parameter} = ${a.value.toFixed(1)} (limit ${a.limit_value})`).join(", ") || "none yet"}`);
' "$db"

# The server: the web viewer and API over the same store, while the live data keeps arriving.
# The admin password: TRACEREPORT_ADMIN_PASSWORD, or a random one made at the first run and kept in $data/.
pwfile="$data/demo-admin-password"
if [ -z "${TRACEREPORT_ADMIN_PASSWORD:-}" ]; then
  [ -s "$pwfile" ] || (umask 077; node -e 'console.log("Demo-" + require("crypto").randomBytes(9).toString("base64url"))' > "$pwfile")
  TRACEREPORT_ADMIN_PASSWORD=$(cat "$pwfile")
fi
export TRACEREPORT_ADMIN_PASSWORD
echo
echo "== tracereport serve (Ctrl-C stops the server, the collector and the simulator)"
: > "$data/serve.log"   # there before the loop below reads it (tee may start later)
bin/tracereport serve --port "$port" --db "$db" --data-dir "$data" 2> >(tee "$data/serve.log" >&2) &
server=$!
pids=("$server" "${pids[@]}")
url=
for _ in $(seq 1 150); do
  url=$(sed -n 's/^TraceReport serving on \(http[^ ]*\).*/\1/p' "$data/serve.log" 2>/dev/null | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { echo "the server did not start; see $data/serve.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { echo "the server did not start within 30 s; see $data/serve.log" >&2; exit 1; }
url=${url/0.0.0.0/localhost}
url=${url/\[::\]/localhost}
echo
echo "TraceReport is running: open ${url}/view/batch-trace?lot=${lot_bwd}"
echo "  (the batch trace of the planted incident; the recall list: ${url}/view/recall?lot=${lot_fwd})"
echo "  log in as user \"admin\" with password \"${TRACEREPORT_ADMIN_PASSWORD}\""
echo "  live samples arrive from the simulated line every second; Ctrl-C stops everything."
wait "$server"
