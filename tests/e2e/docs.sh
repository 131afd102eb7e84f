#!/bin/bash
# docs.sh - the daemons' --help, man pages and config files agree: every
# long option of --help is in the man page and every option in the man
# page is in --help; a config file takes the same names as the flags and
# flags override it; -n checks a configuration; the example config files
# name only real options; docs/api.md documents every route.
. "$(dirname "$0")/lib.sh"

help_opts() { "$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u; }
man_opts() { grep -o -- '\\-\\-[a-z][a-z\\-]*' "$1" | sed 's/\\//g' | sort -u; }
for prog in mb-controld mb-guestd mb-hostd; do
	h=$(help_opts "$BUILD/$prog")
	m=$(man_opts "$ROOT/docs/$prog.8")
	check_eq "$prog: --help and docs/$prog.8 list the same options" "$h" "$m"
	for ex in "$ROOT"/*/"$prog".conf.example; do
		bad=$(grep -v '^#' "$ex" | sed 's/^# *//' | awk 'NF { print "--" $1 }' | sort -u | comm -23 - <(echo "$h"))
		check_eq "$prog: $(basename "$ex") names only real options" "" "$bad"
	done
	check_contains "$prog: a systemd unit runs it" "$prog --config" "$(cat "$ROOT"/*/"$prog".service)"
done

cat > "$WORK/c.conf" <<T
# test configuration
insecure-no-auth
port 0
port-file $WORK/ports
keep 1
datadir = $WORK/data
T
out=$("$CONTROLD" -f "$WORK/c.conf" -n 2>&1)
check_eq "mb-controld -n accepts a good config file" "mb-controld: configuration ok" "$out"
printf 'keep 1\nkeeep 2\n' > "$WORK/bad.conf"
out=$("$CONTROLD" -f "$WORK/bad.conf" -n 2>&1); status=$?
check_eq "mb-controld -n refuses a bad config file (exit 2)" 2 "$status"
check_contains "... naming the line and option" "bad.conf:2: unknown option 'keeep'" "$out"
out=$("$CONTROLD" --datadir "$WORK/d" -n 2>&1)
check_contains "mb-controld refuses to run without tokens or --insecure-no-auth" "no --tokens file" "$out"
# The controller's settings are checked by -n too, each error naming its
# option or field.
H="--insecure-no-auth -n --host a,qemu:///system"
for c in "$H,net-mbps=fast|host: net-mbps 'fast' is not a number of Mbit/s" \
	 "$H --host a,qemu:///session|host a is given twice" \
	 "$H,cpus=2,bogus=1|host a: unknown setting 'bogus=1'" \
	 "$H --sandpiper grey|sandpiper: 'grey' is not black, gray or off" \
	 "--insecure-no-auth -n --sandpiper black|--sandpiper needs hosts (--host)" \
	 "$H --sandpiper gray --sandpiper-k 4 --sandpiper-n 3|--sandpiper-k 4 is more than --sandpiper-n 3" \
	 "$H --sandpiper gray --sandpiper-cpu-threshold 101|sandpiper-cpu-threshold: 101 is out of range 1..100" \
	 "$H --sandpiper gray --stats-interval 0|their statistics (--stats-interval > 0)"; do
	args=${c%%|*} want=${c#*|}
	# shellcheck disable=SC2086
	out=$("$CONTROLD" $args 2>&1); status=$?
	check_eq "mb-controld -n refuses '${args#"$H"}' (exit 2), saying '$want'" "2 yes" \
		"$status $(case $out in *"$want"*) echo yes ;; *) echo "no: $out" ;; esac)"
done
out=$("$CONTROLD" $H,cpus=2,net-mbps=100 --sandpiper gray 2>&1)
check_eq "mb-controld -n accepts a sandpiper configuration" "mb-controld: configuration ok" "$out"

"$CONTROLD" --config "$WORK/c.conf" --keep 3 2>"$WORK/log" &
pid=$!
STARTED_PIDS+=("$pid")
for i in $(seq 1 100); do [ -s "$WORK/ports" ] && break; sleep 0.05; done
port=$(awk '$1 == "http" { print $2 }' "$WORK/ports")
check_contains "options come from the config file" "$WORK/data" "$(cat "$WORK/log")"
check_contains "flags override the config file (--keep 3 over keep 1)" "keeping 3 versions" "$(cat "$WORK/log")"
check_contains "--insecure-no-auth warns loudly" "WARNING: --insecure-no-auth" "$(cat "$WORK/log")"
U=$(new_uuid)
make_trace "$WORK/t.mbt" 100 1 "$U"
for i in 1 2 3 4; do
	curl -s -o /dev/null -X PUT --data-binary @"$WORK/t.mbt" "http://127.0.0.1:$port/v1/vms/$U/traces"
done
check_eq "--keep from the flag is in force" "2.mbt 3.mbt 4.mbt" \
	"$(cd "$WORK/data/vms/$U" && ls *.mbt | sort -n | tr '\n' ' ' | sed 's/ $//')"
kill "$pid"; wait "$pid"

printf 'server http://127.0.0.1:1\nvm-uuid %s\nonce\nretries 0\n' "$U" > "$WORK/g.conf"
out=$("$GUESTD" -f "$WORK/g.conf" -n 2>&1)
check_contains "mb-guestd -n reads its config file" "configuration ok (vm $U" "$out"
out=$("$GUESTD" -f "$WORK/g.conf" --device "$WORK/t.mbt" 2>&1); status=$?
check_eq "mb-guestd with 'once' in its config and no server runs once and exits 5" 5 "$status"

# mb-hostd reads its config file the same way and checks it with -n.
HOSTD=$BUILD/mb-hostd
printf 'connect qemu:///system\noutput-dir %s\nmax-cpu 30\n' "$WORK" > "$WORK/h.conf"
out=$("$HOSTD" -f "$WORK/h.conf" -n 2>&1)
check_eq "mb-hostd -n accepts a good config file" \
	"mb-hostd: configuration ok (libvirt qemu:///system, traces to $WORK)" "$out"
printf 'max-cpu 30\nmax-cpus 2\n' > "$WORK/hbad.conf"
out=$("$HOSTD" -f "$WORK/hbad.conf" --output-dir "$WORK" -n 2>&1); status=$?
check_eq "mb-hostd -n refuses a bad config file (exit 2), naming the line" \
	"2 yes" "$status $(case $out in *"hbad.conf:2: unknown option 'max-cpus'"*) echo yes ;; *) echo "no: $out" ;; esac)"
out=$("$HOSTD" -f "$WORK/h.conf" --max-cpu 101 -n 2>&1)
check_contains "mb-hostd: a flag is checked like the file's options" "max-cpu: 101 is out of range 1..100" "$out"

# Every route of controld's table (controld/http.c) has its heading,
# "## METHOD PATH", then a space, a "[" (query) or the end of the line.
routes=$(sed -nE 's/^[[:space:]]*\{ "(GET|PUT|POST|DELETE)", "([^"]+)".*/\1 \2/p' "$ROOT/controld/http.c")
check_eq "controld/http.c's route table is found" yes "$([ "$(echo "$routes" | wc -l)" -ge 20 ] && echo yes || echo no)"
while read -r method path; do
	check_eq "docs/api.md documents $method $path" yes \
		"$(grep -F -x "## $method $path" "$ROOT/docs/api.md" >/dev/null ||
		   grep -F -e "## $method $path " -e "## $method $path[" "$ROOT/docs/api.md" >/dev/null &&
		   echo yes || echo "no heading '## $method $path'")"
done <<< "$routes"
finish
