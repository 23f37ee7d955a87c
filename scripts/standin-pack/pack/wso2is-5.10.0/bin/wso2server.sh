#!/bin/sh
# ---------------------------------------------------------------------------
# is-provision STAND-IN for WSO2 Identity Server 5.10.0's bin/wso2server.sh.
# Not WSO2 code: it runs bin/standin-server.py (python3) instead of a JVM.
#
#   wso2server.sh            run in the foreground (log also on stdout)
#   wso2server.sh start      start in the background and return at once
#   wso2server.sh stop       stop the server and wait until it has exited
#   wso2server.sh restart    stop, then start
#   wso2server.sh status     exit 0 if running, 3 if not (1: stale pid file)
#   wso2server.sh version    print the version
#
# Like the real script it accepts --start / -start etc., ignores -Dname=value
# options, uses CARBON_HOME if set (else the directory above bin/), writes the
# pid to $CARBON_HOME/wso2carbon.pid and logs to
# $CARBON_HOME/repository/logs/wso2carbon.log.
#
# Environment:
#   IS_STANDIN_PYTHON          python interpreter (default: python3)
#   IS_STANDIN_STARTUP_DELAY   seconds before the ports open (default 1)
#   IS_STANDIN_STOP_TIMEOUT    seconds stop waits before SIGKILL (default 30)
# ---------------------------------------------------------------------------

# resolve links - $0 may be a softlink
PRG="$0"
while [ -h "$PRG" ]; do
  ls=$(ls -ld "$PRG")
  link=$(expr "$ls" : '.*-> \(.*\)$')
  if expr "$link" : '/.*' > /dev/null; then
    PRG="$link"
  else
    PRG=$(dirname "$PRG")/"$link"
  fi
done
PRGDIR=$(dirname "$PRG")

# Only set CARBON_HOME if not already set
[ -z "$CARBON_HOME" ] && CARBON_HOME=$(cd "$PRGDIR/.." && pwd -P)
export CARBON_HOME

PYTHON=${IS_STANDIN_PYTHON:-python3}
SERVER_PY="$CARBON_HOME/bin/standin-server.py"
PID_FILE="$CARBON_HOME/wso2carbon.pid"
LOG_DIR="$CARBON_HOME/repository/logs"
LOG_FILE="$LOG_DIR/wso2carbon.log"
STOP_TIMEOUT=${IS_STANDIN_STOP_TIMEOUT:-30}

CMD=""
for c in "$@"; do
  case "$c" in
    start | --start | -start) CMD=start ;;
    stop | --stop | -stop) CMD=stop ;;
    restart | --restart | -restart) CMD=restart ;;
    status | --status | -status) CMD=status ;;
    version | --version | -version) CMD=version ;;
    help | --help | -help | -h) CMD=help ;;
    __run) CMD=__run; break ;; # internal: the detached child of "start"
    *) ;; # -Dname=value, --debug <port> and the like: accepted and ignored
  esac
done

# Whether a pid still exists and has not exited (a zombie has). Used once the pid
# is known to be ours: an exiting process loses its command line before it has
# closed its sockets, so running_pid alone would stop waiting too early.
pid_alive() {
  if [ -r "/proc/$1/stat" ]; then
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2> /dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
  else
    kill -0 "$1" 2> /dev/null || return 1
    case $(ps -o stat= -p "$1" 2> /dev/null) in
      Z*) return 1 ;;
      *) return 0 ;;
    esac
  fi
}

# The pid in the pid file, if that process is alive and is this server
# (matched on the command line, so a recycled pid or a zombie does not count).
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  pid=$(tr -cd '0-9' < "$PID_FILE" 2> /dev/null)
  [ -n "$pid" ] || return 1
  tries=0
  while :; do
    if [ -r "/proc/$pid/cmdline" ]; then
      args=$(tr '\000' ' ' < "/proc/$pid/cmdline" 2> /dev/null)
    else
      args=$(ps -p "$pid" -o args= 2> /dev/null)
    fi
    # A live process shows an empty command line only for an instant, while it
    # execs (start's child goes nohup > setsid > sh > python3) or exits.
    if [ -n "$args" ] || [ "$tries" -ge 20 ] || ! pid_alive "$pid"; then break; fi
    tries=$((tries + 1))
    sleep 0.05 2> /dev/null || sleep 1
  done
  case "$args" in
    *"$CARBON_HOME/bin/"*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

need_python() {
  if ! command -v "$PYTHON" > /dev/null 2>&1; then
    echo "wso2server.sh: $PYTHON not found; the stand-in needs python3 (apt-get install python3)" >&2
    exit 1
  fi
}

do_start() {
  if pid=$(running_pid); then
    echo "Process is already running (pid $pid)"
    return 0
  fi
  need_python
  mkdir -p "$LOG_DIR" || exit 1
  rm -f "$PID_FILE"
  # Detached from the caller: own session, no terminal, stdin/stdout/stderr off
  # the caller's pipes, so an SSH channel that ran "start" closes at once.
  # setsid is not a process-group leader here, so it execs in place and $! is
  # the pid the server ends up with (sh and python exec in turn).
  nohup setsid sh "$CARBON_HOME/bin/wso2server.sh" __run < /dev/null >> "$LOG_FILE" 2>&1 &
  echo "$!" > "$PID_FILE"
  echo "Starting WSO2 Identity Server (stand-in), pid $!, log $LOG_FILE"
  return 0
}

do_stop() {
  if ! pid=$(running_pid); then
    [ -f "$PID_FILE" ] && rm -f "$PID_FILE"
    echo "WSO2 Identity Server (stand-in) is not running"
    return 0
  fi
  kill -TERM "$pid" 2> /dev/null
  waited=0
  while pid_alive "$pid"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      echo "Process $pid did not stop in ${STOP_TIMEOUT}s; killing it" >&2
      kill -KILL "$pid" 2> /dev/null
      sleep 1
      break
    fi
    sleep 0.1 2> /dev/null || sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  echo "WSO2 Identity Server (stand-in) stopped (pid $pid)"
  return 0
}

case "$CMD" in
  start)
    do_start
    exit 0
    ;;
  stop)
    do_stop
    exit 0
    ;;
  restart)
    do_stop
    do_start
    exit 0
    ;;
  status)
    if pid=$(running_pid); then
      echo "WSO2 Identity Server (stand-in) is running (pid $pid)"
      exit 0
    elif [ -f "$PID_FILE" ]; then
      echo "WSO2 Identity Server (stand-in) is not running, but $PID_FILE exists"
      exit 1
    fi
    echo "WSO2 Identity Server (stand-in) is not running"
    exit 3
    ;;
  version)
    cat "$CARBON_HOME/bin/version.txt"
    exit 0
    ;;
  help)
    sed -n '2,22s/^# \{0,1\}//p' "$CARBON_HOME/bin/wso2server.sh"
    exit 0
    ;;
  __run)
    need_python
    exec "$PYTHON" "$SERVER_PY" --home "$CARBON_HOME"
    ;;
  *)
    # Foreground, like the real script without a command.
    if pid=$(running_pid); then
      echo "Process is already running (pid $pid)" >&2
      exit 1
    fi
    need_python
    mkdir -p "$LOG_DIR" || exit 1
    echo "$$" > "$PID_FILE"
    exec "$PYTHON" "$SERVER_PY" --home "$CARBON_HOME" --console
    ;;
esac
