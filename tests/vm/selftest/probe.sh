#!/bin/sh
# Runs inside a container (busybox sh): touch MIB of memory once with stress
# and tell whether the memory cgroup let it live. Output: key=value lines,
# result=survived|killed|timeout. MIB=0 only prints the limits.
mib=${1:?usage: probe.sh MIB}
deadline=${2:-120}

if [ -f /sys/fs/cgroup/memory.max ]; then
	cg=/sys/fs/cgroup
	limit=$(cat $cg/memory.max)
	swap_limit=$(cat $cg/memory.swap.max)
	usage() { echo $(($(cat $cg/memory.current) + $(cat $cg/memory.swap.current))); }
	swap_now() { cat $cg/memory.swap.current; }
	oom_kills() { sed -n 's/^oom_kill //p' $cg/memory.events; }
else
	cg=/sys/fs/cgroup/memory
	limit=$(cat $cg/memory.limit_in_bytes)
	swap_limit=$(cat $cg/memory.memsw.limit_in_bytes)
	usage() { cat $cg/memory.memsw.usage_in_bytes; }
	swap_now() { echo $(($(cat $cg/memory.memsw.usage_in_bytes) - $(cat $cg/memory.usage_in_bytes))); }
	oom_kills() { sed -n 's/^oom_kill //p' $cg/memory.oom_control; }
fi
echo "limit=$limit"
echo "swap_limit=$swap_limit"
[ "$mib" -gt 0 ] || exit 0

# --vm-hang 0: dirty the bytes once, then sleep; a fixed --timeout would cut
# the touching short under a slow emulated CPU.
stress --vm 1 --vm-bytes "${mib}M" --vm-hang 0 >/tmp/stress.out 2>&1 &
pid=$!
want=$((mib * 1024 * 1024))
swap_max=0
result=timeout
end=$(($(date +%s) + deadline))
while [ "$(date +%s)" -lt "$end" ]; do
	s=$(swap_now)
	[ "$s" -gt "$swap_max" ] && swap_max=$s
	if [ "$(usage)" -ge "$want" ]; then
		result=survived
		break
	fi
	# stress exits once its worker is gone (OOM-killed).
	if ! kill -0 $pid 2>/dev/null || grep -q 'signal 9' /tmp/stress.out; then
		result=killed
		break
	fi
	sleep 0.2
done
# shellcheck disable=SC2046 # one pid per word
kill -9 $(pidof stress) 2>/dev/null
wait
echo "result=$result"
echo "swap_max=$swap_max"
echo "oom_kill=$(oom_kills)"
