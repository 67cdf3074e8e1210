# Shared by the benchmark scripts (sourced, not run: bench/smoke.sh skips it): . bench/lib.sh

# wait_ready ADDR PID LOG [TRIES]: waits (0.2 s a try, 300 tries by
# default) until the wangge at ADDR answers /readyz, failing with its log
# when it does not or when process PID has exited.
wait_ready() {
	_addr=$1 _pid=$2 _log=$3 _tries=${4:-300} _i=0
	until curl -sf "http://$_addr/readyz" >/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt "$_tries" ] || { echo "wangge at $_addr did not become ready" >&2; tail -40 "$_log" >&2; exit 1; }
		kill -0 "$_pid" 2>/dev/null || { echo "wangge at $_addr exited" >&2; tail -40 "$_log" >&2; exit 1; }
		sleep 0.2
	done
}
