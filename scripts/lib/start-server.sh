# Sourced by the interop scripts. Needs $out (a folder for logs), the array pids (servers to
# stop on exit) and a function fail MESSAGE.

# Starts a server in the background (its first stdout line: `listening on URL`); sets $url.
start() { # NAME COMMAND...
  local name=$1 log=$out/$1
  shift
  : >"$log.stdout"
  "$@" >"$log.stdout" 2>"$log.stderr" </dev/null &
  pids+=($!)
  local pid=$! i
  url=
  for i in $(seq 1 100); do
    url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$log.stdout")
    [ -n "$url" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log.stderr" >&2; fail "$name exited before listening"; }
    sleep 0.1
  done
  fail "$name did not print its address within 10 s"
}
