# Sourced (bash) by a recipe command once it has defined two functions that each exec one process:
#   aiplane_server  the server, listening only on the Unix socket "$AIPLANE_SOCK"
#   aiplane_front   auth_front.py on the published port, forwarding to "$AIPLANE_SOCK"
# It runs both and never returns: the job is both processes, so when either ends (a crash, a
# kill) the other is stopped and the job ends with a failure; scancel (SIGTERM) stops both.
#
# Why the socket: vLLM's key guards only some path prefixes (/v1, ...), while /invocations (the
# same prompts as /v1), /tokenize, /metrics and the rest answer anyone who reaches the port. The
# server therefore listens in a directory only this job's user can enter (mktemp -d makes it
# 0700), and the front, which wants the key on every path, holds the port. A socket path holds at
# most 107 bytes, so a long TMPDIR (or one with the , or : that Apptainer's --bind splits on)
# gives way to /tmp.

aiplane_tmp=${TMPDIR:-/tmp}
case $aiplane_tmp in /*[,:]* | [!/]*) aiplane_tmp=/tmp ;; esac
if [ "${#aiplane_tmp}" -gt 80 ]; then aiplane_tmp=/tmp; fi
AIPLANE_SOCK_DIR=$(mktemp -d "$aiplane_tmp/aiplane.XXXXXX") || exit 1
AIPLANE_SOCK="$AIPLANE_SOCK_DIR/server.sock"
trap 'rm -rf -- "$AIPLANE_SOCK_DIR"' EXIT

aiplane_pids=()
aiplane_stop() {
  trap - TERM INT
  kill -TERM "${aiplane_pids[@]}" 2>/dev/null || true
  wait || true
  exit 143
}
trap aiplane_stop TERM INT

aiplane_server &
aiplane_pids+=($!)
aiplane_front &
aiplane_pids+=($!)

# wait -n (bash 4.3+) returns when either child ends; a stopped (SIGSTOP) child does not count.
aiplane_status=0
wait -n || aiplane_status=$?
aiplane_ended='auth front'
if kill -0 "${aiplane_pids[1]}" 2>/dev/null; then aiplane_ended=server; fi
printf 'aiplane: the %s exited with status %s; stopping the job\n' "$aiplane_ended" "$aiplane_status" >&2
kill -TERM "${aiplane_pids[@]}" 2>/dev/null || true
wait || true
if [ "$aiplane_status" -eq 0 ]; then aiplane_status=1; fi
exit "$aiplane_status"
