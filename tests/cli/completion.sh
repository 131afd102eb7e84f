#!/bin/bash
# completion.sh: the bash completion `mbuddy completion bash` makes
# (heuristics/cmd_completion.c), loaded into a real bash and asked as bash
# asks it: the commands are those of `mbuddy --help`; every option it
# completes is one the command accepts (getopt does not call it
# unrecognized, while it does call a made-up one so); every long option of
# the commands' option tables (heuristics/cmd_*.c) is completed somewhere;
# choices, sub-commands and file names where the help text says so.
# Usage: tests/cli/completion.sh [MBUDDY]
set -u
M=$(cd "$(dirname "${1:-build/mbuddy}")" && pwd)/$(basename "${1:-build/mbuddy}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
passed=0 failed=0
check() {
	if [ "$2" = "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL: %s\n    expected: %s\n    got:      %s\n' "$1" "$2" "$3"
	fi
}

"$M" completion bash > "$W/mbuddy.bash"
check "mbuddy completion bash exits 0" 0 $?
bash -n "$W/mbuddy.bash"
check "the script is valid bash" 0 $?
check "mbuddy completion with no shell is a usage error (2)" 2 "$("$M" completion >/dev/null 2>&1; echo $?)"

# complete WORD...: what the script offers for the command line "mbuddy
# WORD...", the last word being the one completed; one a line, sorted.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=(mbuddy "$@"); COMP_CWORD=$#
		_mbuddy; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$W/mbuddy.bash" "$@"
}

commands=$("$M" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' | sort)
check "the commands are those of mbuddy --help" "$(printf '%s\n' $commands --help | sort)" "$(complete_words '')"
check "a prefix narrows them" "$(printf '%s\n' balance balance-sim best-match)" "$(complete_words b)"

# Run each command with each option it is completed with: getopt must not
# refuse it. Nothing reaches a daemon (port 1) or an existing file.
export MB_CONTROLD_URL=http://127.0.0.1:1
refused() { grep -Ec "unrecognized option|invalid option|unknown option|option .* requires" "$1"; }
# spec COMMAND VARIABLE: a variable _mbuddy_spec sets for COMMAND.
spec() { bash -c '. "$1"; declare -A choices; _mbuddy_spec "$2"; echo "${!3}"' _ "$W/mbuddy.bash" "$1" "$2"; }
paths=$(sed -n 's/^\t"\([a-z -]*\)")$/\1/p' "$W/mbuddy.bash")
check "a spec for every command" "$(printf '%s\n' $commands | sort)" \
	"$(printf '%s\n' "$paths" | awk '{ print $1 }' | sort -u)"
bad= tried=0
cd "$W" || exit 1
while read -r path; do
	subs=$(spec "$path" subcommands)
	[ -n "$subs" ] && continue
	read -ra words <<< "$path"
	check "mbuddy $path: completes its options" "$(spec "$path" opts | tr ' ' '\n' | sort)" \
		"$(complete_words "${words[@]}" --)"
	"${M}" "${words[@]}" --no-such-option > "$W/out" 2>&1 < /dev/null
	[ "$(refused "$W/out")" -gt 0 ] || bad="$bad [$path: a made-up option is not refused]"
	for o in $(spec "$path" opts); do
		[ "$o" = --help ] && continue
		args=("$o")
		case " $(spec "$path" valued) " in *" $o "*) args+=(/nonexistent/x) ;; esac
		timeout 10 "$M" "${words[@]}" "${args[@]}" > "$W/out" 2>&1 < /dev/null
		tried=$((tried + 1))
		[ "$(refused "$W/out")" -eq 0 ] || bad="$bad [$path $o: $(head -1 "$W/out")]"
	done
done <<< "$paths"
check "every completed option ($tried) is accepted by its command" "" "$bad"
cd - >/dev/null || exit 1

all=$(while read -r path; do spec "$path" opts; done <<< "$paths" | tr ' ' '\n' | sort -u)
table=$(grep -ho '{ "[a-z][a-z0-9-]*", *[a-z_]*argument' "$ROOT"/heuristics/cmd_*.c |
	sed 's/{ "\([^"]*\)".*/--\1/' | sort -u)
check "every long option of the commands' option tables is completed" "" \
	"$(comm -23 <(echo "$table") <(echo "$all") | tr '\n' ' ')"

check "mbuddy trace <TAB>: its sub-commands" "$(printf '%s\n' --help diff dump export hash import info)" \
	"$(complete_words trace '')"
check "mbuddy actions --kind <TAB>: the kinds" "$(printf '%s\n' migrate resize)" \
	"$(complete_words actions --kind '')"
check "mbuddy hotspots --mode <TAB>: black, gray" "$(printf '%s\n' black gray)" \
	"$(complete_words hotspots --mode '')"
mkdir -p "$W/t" && touch "$W/t/a.mbt" "$W/t/b.mbt"
check "mbuddy sharing <TAB>: trace files" "$(printf '%s\n' "$W/t/a.mbt" "$W/t/b.mbt")" \
	"$(complete_words sharing --json "$W/t/")"
check "mbuddy trace info <TAB>: trace files" "$W/t/a.mbt" "$(complete_words trace info "$W/t/a")"
check "mbuddy status --token-file <TAB>: a file" "$W/t/b.mbt" "$(complete_words status --token-file "$W/t/b")"
check "mbuddy top --delay <TAB>: nothing to offer" "" "$(complete_words top --delay '')"
check "mbuddy status <TAB>: no operands" "" "$(complete_words status '')"
if [ -r /usr/share/bash-completion/bash_completion ]; then
	out=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; complete -p mbuddy' _ "$W/mbuddy.bash")
	check "with bash-completion loaded, mbuddy completes through _mbuddy" "complete -F _mbuddy mbuddy" "$out"
fi
echo "completion: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
