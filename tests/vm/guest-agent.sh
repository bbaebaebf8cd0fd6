# The guest's agent (run.sh when no script is given): runs each command the host drops in
# /host/cmd as N.sh (numbered in order), each in the background so that the host may start
# long ones (vm_spawn) and go on; writes N.out and then N.rc. Ends on /host/cmd/stop.
# Waiting is a read with a timeout on a FIFO nobody writes: a builtin, so an idle agent forks
# nothing (under TCG a fork every 50 ms costs the guest a good part of a CPU).
mkfifo /run/agent.tick && exec 9<>/run/agent.tick
echo "agent: ready at $(up) s"
touch /host/agent.ready
n=0
while :; do
	if [ -f "/host/cmd/$n.sh" ]; then
		echo "agent: $n at $(up): $(grep -v '^source /host/guest-lib.sh$' "/host/cmd/$n.sh" | head -n 1 | cut -c1-150)"
		(
			bash "/host/cmd/$n.sh" >"/host/cmd/$n.out" 2>&1 </dev/null
			echo $? >"/host/cmd/.$n.rc"
			mv "/host/cmd/.$n.rc" "/host/cmd/$n.rc"
		) &
		n=$((n + 1))
		continue
	fi
	[ -f /host/cmd/stop ] && break
	read -r -t 0.05 -u 9 _ || :
done
echo "agent: stopping at $(up) s"
exit 0
