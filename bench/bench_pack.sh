#!/bin/bash
# bench_pack.sh DIR: the cluster experiment (`mbuddy pack`) on the traces
# in DIR: 100 hosts, VMs drawn from the traces with 20-60% private pages,
# placed until one fits nowhere; first-fit against buddies, with buddies
# using the paper's Bloom estimates and then exact sharing; a VM's memory
# is its used pages, then (--memory configured) its whole trace. The paper
# reports 469 vs 406 VMs on 100 hosts (+16%) for its own traces.
set -eu
MBUDDY=${MBUDDY:-build/mbuddy}
dir=${1:-memtraces}
shopt -s nullglob
traces=("$dir"/*.mbt "$dir"/*.txt[0-9]*)
if [ ${#traces[@]} -lt 1 ]; then
	echo "bench-pack: no traces in $dir"
	exit 1
fi
for mode in "" "--exact" "--memory configured"; do
	s=$(date +%s.%N)
	"$MBUDDY" pack --hosts "${PACK_HOSTS:-100}" $mode "${traces[@]}"
	e=$(date +%s.%N)
	python3 -c "print('  (%.1f s)' % ($e - $s))"
done
