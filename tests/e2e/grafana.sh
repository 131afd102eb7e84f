#!/bin/bash
# grafana.sh - the Grafana dashboard contrib/grafana/mb-controld.json
# queries only what mb-controld's /metrics serves: every metric named in
# its panels' and variables' queries is a family of a real daemon's
# /metrics (a "# TYPE" line or samples), and every label its selectors,
# "by (...)" clauses and legends use is a label of those metrics' samples.
# The daemon runs the controller on libvirt's test driver with statistics
# every second, one trace stored and one guest report, so that the host,
# VM, guest and action families are all there. Also: the JSON is a
# dashboard Grafana imports (uid, title, unique panel ids, the datasource
# as an input).
. "$(dirname "$0")/lib.sh"

DASH=$ROOT/contrib/grafana/mb-controld.json
U=6d62756c-0000-4000-8000-000000000001
add_token admin "$ADMIN_TOKEN"
test_host "$WORK/a.xml" 512 "idle-1:$U"
start_controld "$WORK/data" --host "a,test://$WORK/a.xml" --plan-interval 0 --stats-interval 1 || exit 1
check_eq "a trace is stored" 201 "$(put_trace "$U" "$ROOT/memtraces/idle-1.mbt" "$ADMIN_TOKEN")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
	--data '{"mem_total_kb": 1015808, "mem_available_kb": 702112, "swap_total_kb": 0, "swap_free_kb": 0}' \
	"$CD_URL/v1/vms/$U/stats")
check_eq "a guest report is accepted" 202 "$code"
sleep 2.5		# two statistics rounds
check_eq "GET /metrics answers" 200 "$(admin_get /metrics "$WORK/metrics.txt")"
stop_controld TERM

python3 - "$DASH" "$WORK/metrics.txt" > "$WORK/result" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
families, labels = set(), {}
for line in open(sys.argv[2]):
    m = re.match(r"# TYPE (\w+) ", line)
    if m:
        families.add(m.group(1))
        continue
    m = re.match(r"(\w+)(?:\{([^}]*)\})? ", line)
    if m:
        families.add(m.group(1))
        labels.setdefault(m.group(1), set()).update(re.findall(r"(\w+)=", m.group(2) or ""))
ok = lambda what, good: print(("PASS " if good else "FAIL ") + what)

ok("the dashboard has a uid and a title", bool(dash.get("uid")) and bool(dash.get("title")))
ok("its datasource is an input (DS_PROMETHEUS)",
   [i["name"] for i in dash.get("__inputs", [])] == ["DS_PROMETHEUS"])
ids = [p["id"] for p in dash["panels"]]
ok("panel ids are unique", len(ids) == len(set(ids)))
queries = []   # (where, expr, legend)
for p in dash["panels"]:
    for t in p.get("targets", []):
        queries.append(("panel '%s'" % p["title"], t["expr"], t.get("legendFormat", "")))
        ok("panel '%s' queries the dashboard's datasource" % p["title"],
           t["datasource"]["uid"] == "${DS_PROMETHEUS}")
for v in dash.get("templating", {}).get("list", []):
    queries.append(("variable $%s" % v["name"], v["query"]["query"], ""))
ok("the dashboard has queries", len(queries) > 10)
for where, expr, legend in queries:
    metrics = sorted(set(re.findall(r"\bmb_controld_\w+", expr)))
    missing = [m for m in metrics if m not in families]
    ok("%s: its metrics are in /metrics (%s)%s" % (where, ", ".join(metrics),
       "; missing: " + ", ".join(missing) if missing else ""), metrics and not missing)
    used = set(re.findall(r"(\w+)\s*=~?", " ".join(re.findall(r"\{([^}]*)\}", expr))))
    for by in re.findall(r"\bby\s*\(([^)]*)\)", expr):
        used.update(x.strip() for x in by.split(",") if x.strip())
    used.update(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
    m = re.match(r"label_values\((\w+),\s*(\w+)\)", expr)
    if m:
        used.add(m.group(2))
    have = set().union(*[labels[m] for m in metrics if m in labels]) if any(m in labels for m in metrics) else None
    if have is not None:
        ok("%s: the labels it uses (%s) are its metrics' labels" % (where, ", ".join(sorted(used)) or "none"),
           used <= have)
PY
while read -r verdict what; do
	if [ "$verdict" = PASS ]; then pass "$what"; else fail "$what" "true" "false"; fi
done < "$WORK/result"
check_eq "every query was checked" yes "$([ "$(wc -l < "$WORK/result")" -gt 30 ] && echo yes || echo no)"
finish
