# Sourced by ddb-background.sh and dev.sh.
# wait_port PID PORT LOG: until PORT accepts a connection; the log and exit 1
# if PID dies first, or after 60 s.
wait_port() {
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "nothing answers on 127.0.0.1:$2 after 60 s (see $3)" >&2
  exit 1
}
