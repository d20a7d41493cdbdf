#!/usr/bin/env bash
# Mobile Lighthouse on the demo commune: home, item list and two status pages.
#
#   scripts/lighthouse.sh            # or: make lighthouse
#   RUNS=5 scripts/lighthouse.sh     # more runs per page (the median is reported)
#
# Installs the `lighthouse` npm package into var/lighthouse/ when it is missing, loads the demo into a
# throwaway data folder, serves it on a free port, runs Lighthouse against Debian's Chromium with its
# defaults (mobile form factor, simulated throttling), prints a table of the median scores (each run in
# brackets) and bytes, and stops the server. Exits 1 when a page's median is under 95 for performance or
# under 100 for accessibility. Run it by hand; it is not part of `make test`. Needs npm and
# /usr/bin/chromium (CHROME_PATH to use another Chromium). The JSON reports are kept in
# var/lighthouse/reports/<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
RUNS=${RUNS:-3}
LH_DIR=$ROOT/var/lighthouse
LH=$LH_DIR/node_modules/.bin/lighthouse
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
CHROME_FLAGS=${CHROME_FLAGS:---headless=new --no-sandbox --disable-gpu}

command -v node >/dev/null || { echo "lighthouse.sh: node is missing (apt-get install -y nodejs npm)" >&2; exit 2; }
[ -x "$CHROME_PATH" ] || { echo "lighthouse.sh: no Chromium at $CHROME_PATH (apt-get install -y chromium)" >&2; exit 2; }
[ -x "$VENV/bin/civic" ] || { echo "lighthouse.sh: $VENV/bin/civic is missing (make install)" >&2; exit 2; }

if [ ! -x "$LH" ]; then
    echo "lighthouse.sh: installing lighthouse into var/lighthouse/ ..." >&2
    mkdir -p "$LH_DIR"
    [ -f "$LH_DIR/package.json" ] || echo '{"private": true}' > "$LH_DIR/package.json"
    npm install --prefix "$LH_DIR" --no-audit --no-fund --loglevel=error lighthouse@12 >&2
fi

DATA=$(mktemp -d "${TMPDIR:-/tmp}/civic-lighthouse.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CIVIC_VAR_DIR=$DATA DATABASE_URL="sqlite:///$DATA/civic.db" CIVIC_MEDIA_DIR=$DATA/media
PY=$VENV/bin/python
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

"$VENV/bin/civic" migrate >/dev/null
"$VENV/bin/civic" seed-demo >&2
"$VENV/bin/civic" serve --port "$PORT" --no-access-log >"$DATA/serve.log" 2>&1 &
SERVER_PID=$!

# The two status pages: the Dân bàn item whose meeting reached a decision, and the Dân làm item with the
# most pledges (pledge bars).
read -r DISCUSS DO < <("$PY" - "$DATA/civic.db" <<'PYCODE'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
discuss = db.execute("SELECT i.code FROM item i JOIN decision d ON d.item_id = i.id WHERE i.stage = 'discuss' "
                     "ORDER BY i.id LIMIT 1").fetchone()
do = db.execute("SELECT i.code FROM item i JOIN pledge p ON p.item_id = i.id WHERE i.stage = 'do' "
                "GROUP BY i.id ORDER BY count(*) DESC, i.id LIMIT 1").fetchone()
if not discuss or not do:
    sys.exit("lighthouse.sh: the demo has no decided Dân bàn item or no Dân làm item with pledges")
print(discuss[0], do[0])
PYCODE
)
[ -n "${DO:-}" ] || exit 2

"$PY" - "$BASE/" <<'PYCODE'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("lighthouse.sh: the server did not answer within 30 s")
PYCODE

PAGES=("home /" "list /items" "status-discuss /items/$DISCUSS" "status-do /items/$DO")
OUT=$LH_DIR/reports/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
# One round over every page per run, so a burst of load from elsewhere does not hit one page's runs only.
for run in $(seq 1 "$RUNS"); do
    for entry in "${PAGES[@]}"; do
        name=${entry%% *}
        path=${entry#* }
        echo "lighthouse.sh: run $run/$RUNS $path" >&2
        "$LH" "$BASE$path" --quiet --output=json --output-path="$OUT/$name-$run.json" \
            --only-categories=performance,accessibility,best-practices,seo \
            --chrome-flags="$CHROME_FLAGS"
    done
done

node - "$OUT" "$RUNS" "${PAGES[@]}" <<'JS'
const fs = require("fs");
const [out, runs, ...pages] = process.argv.slice(2);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
                         return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2); };
const cats = [["performance", "perf"], ["accessibility", "a11y"], ["best-practices", "best-pr"], ["seo", "seo"]];
const rows = [];
let failed = false;
for (const entry of pages) {
  const [name, path] = [entry.slice(0, entry.indexOf(" ")), entry.slice(entry.indexOf(" ") + 1)];
  const reports = [];
  for (let i = 1; i <= Number(runs); i++) reports.push(JSON.parse(fs.readFileSync(`${out}/${name}-${i}.json`)));
  const row = { page: `${name} ${path}` };
  for (const [id, label] of cats) {
    const scores = reports.map((r) => Math.round(r.categories[id].score * 100));
    row[label] = `${median(scores)} [${scores.join(",")}]`;
    if ((id === "performance" && median(scores) < 95) || (id === "accessibility" && median(scores) < 100)) failed = true;
  }
  // Everything transferred (headers included), and the page's own HTML + CSS + JS bodies as sent.
  row.bytes = median(reports.map((r) => r.audits["total-byte-weight"].numericValue));
  row["html+css+js"] = median(reports.map((r) => r.audits["network-requests"].details.items
    .filter((q) => ["Document", "Stylesheet", "Script"].includes(q.resourceType))
    .reduce((n, q) => n + (q.transferSize || 0), 0)));
  row.lcp = median(reports.map((r) => Math.round(r.audits["largest-contentful-paint"].numericValue))) + " ms";
  rows.push(row);
}
const cols = Object.keys(rows[0]);
const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
const line = (vals) => vals.map((v, i) => String(v).padEnd(width[i])).join("  ");
console.log(`\nLighthouse ${JSON.parse(fs.readFileSync(`${out}/home-1.json`)).lighthouseVersion}, mobile, ` +
            `simulated throttling; median of ${runs} runs [each run]; bytes as transferred\n`);
console.log(line(cols));
for (const r of rows) console.log(line(cols.map((c) => r[c])));
console.log(`\nreports: ${out}`);
if (failed) { console.log("FAILED: a page is under 95 for performance or under 100 for accessibility"); process.exit(1); }
JS
