#!/bin/bash
# extract-data.sh DATAFILE NAME OUT: decode the block NAME that the guest
# sent to its second serial port (base64 between "MT-DATA-BEGIN NAME" and
# "MT-DATA-END NAME", with the tty's CR LF line ends) into OUT.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: extract-data.sh DATAFILE NAME OUT" >&2; exit 2; }
tr -d '\r' < "$1" | awk -v name="$2" '
	$0 == "MT-DATA-BEGIN " name { on = 1; found = 1; next }
	$0 == "MT-DATA-END " name { on = 0; done = 1; next }
	on { print }
	END { if (!found || !done) exit 1 }' | base64 -d > "$3" || {
	echo "extract-data.sh: no complete block '$2' in $1" >&2; rm -f "$3"; exit 1; }
