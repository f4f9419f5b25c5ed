# shellcheck shell=bash
# exim.sh: a real Exim 4.96 (Debian's exim4-daemon-light) run from a private directory: the parts of
# its configuration the recordings write alike, a check that Exim accepts it, and the daemon started
# in a namespace. Sourced by testdata/record/exim-sweep/lib.sh, testdata/record/exim-sweep2/lib.sh
# (so by their sN-*.sh), testdata/record/clients-sweep/lib.sh and testdata/record/core-sweep/setup.sh.
# Each keeps its own main options, ACLs and scenarios; the printing functions write to stdout so a
# caller puts its own lines between them. Every wait bounded; the daemon is known by its PID only.

# exim_workdir DIR: DIR's spool, log and mail directories, owned by the Exim user.
exim_workdir() {
  mkdir -p "$1/spool" "$1/log" "$1/mail"
  chown -R Debian-exim:Debian-exim "$1/spool" "$1/log" "$1/mail"
}

# exim_conf_head DIR ADDR HOSTNAME DOMAIN: print the main options every recording starts with: the
# names Exim uses for itself, spool, log and pid file below DIR, listening on ADDR only (a ';' list,
# so an IPv6 ADDR needs no doubled colons), no environment, no DNS or ident lookups on connect.
exim_conf_head() {
  cat <<EOC
primary_hostname = $3
qualify_domain = $4
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $1/spool
log_file_path = $1/log/%slog
pid_file_path = $1/exim.pid
local_interfaces = <; $2
keep_environment =
host_lookup =
rfc1413_hosts =
EOC
}

# exim_conf_mbox_delivery DIR: print the routers and transports of a server that keeps every
# message for example.test in DIR/mail/mbox.
exim_conf_mbox_delivery() {
  cat <<EOC
begin routers

local_mbox:
  driver = accept
  domains = example.test
  transport = mbox

begin transports

mbox:
  driver = appendfile
  file = $1/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
EOC
}

# exim_conf_server DIR ADDR MAIN ACLS TAIL: print a server's whole configuration: exim_conf_head
# for mx.example.test; the banner naming Exim's version; no PIPECONNECT, no PRDR; the lines of file
# MAIN; the ACLs in file ACLS before exim_conf_rcpt_acl; exim_conf_mbox_delivery; the lines of file
# TAIL (e.g. more transports). /dev/null for a file the caller has nothing for.
exim_conf_server() {
  local d=$1 addr=$2 main=$3 acls=$4 tail=$5
  exim_conf_head "$d" "$addr" mx.example.test example.test
  cat <<'EOC'
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number
pipelining_connect_advertise_hosts =
prdr_enable = false
acl_smtp_rcpt = acl_check_rcpt
EOC
  cat "$main"
  printf '\nbegin acl\n\n'
  cat "$acls"
  exim_conf_rcpt_acl
  echo
  exim_conf_mbox_delivery "$d"
  cat "$tail"
}

# exim_conf_rcpt_acl: print acl_check_rcpt: nobody@ refused (550 unknown user), grey@ deferred (451
# greylisted), the rest of example.test accepted, any other domain refused as relaying.
exim_conf_rcpt_acl() {
  cat <<'EOC'
acl_check_rcpt:
  deny    local_parts = nobody
          message     = unknown user
  defer   local_parts = grey
          message     = greylisted, try again later
  accept  domains     = example.test
  deny    message     = relay not permitted
EOC
}

# exim_conf_client CD LOCAL ROUTE INTERFACE TRANSPORT_OPTIONS: print the configuration of Exim as
# the sending client (client.example.org, spool etc. below CD, listening on LOCAL but never started
# as a daemon): the manualroute line ROUTE (e.g. "route_list = * 127.0.0.21") sends example.test
# through smtp on port 25 from INTERFACE with TRANSPORT_OPTIONS (one "name = value" a line, e.g.
# "hosts_try_chunking = *"), without TLS, PRDR, DANE or TCP Fast Open; anything else stays in
# CD/mail/mbox; a failed delivery is retried every minute for an hour.
exim_conf_client() {
  local cd=$1 local_if=$2 route=$3 interface=$4 options=$5
  exim_conf_head "$cd" "$local_if" client.example.org example.org
  cat <<EOC
tls_advertise_hosts =
queue_run_in_order = true
begin routers
to_server:
  driver = manualroute
  domains = example.test
  $route
  self = send
  transport = remote_smtp
local_rest:
  driver = accept
  transport = local_mbox
begin transports
remote_smtp:
  driver = smtp
  port = 25
  interface = $interface
  helo_data = client.example.org
  allow_localhost
EOC
  printf '%s\n' "$options" | sed 's/^/  /'
  cat <<EOC
  hosts_try_fastopen =
  hosts_try_prdr =
  hosts_try_dane =
  hosts_avoid_tls = *
local_mbox:
  driver = appendfile
  file = $cd/mail/mbox
  user = Debian-exim
  group = Debian-exim
  mode = 0600
begin retry
*   *   F,1h,1m
EOC
}

# exim_check_conf CONF: Exim accepts CONF (exim -bV); if not, show why (its output is kept in
# CONF's directory as exim-bV.log) and fail.
exim_check_conf() {
  local log; log="$(dirname "$1")/exim-bV.log"
  exim -C "$1" -bV >"$log" 2>&1 || { cat "$log"; return 1; }
}

# exim_daemon_start NS CONF ADDR PORT [EXIM_OPTION...]: a foreground Exim daemon (exim -bdf) in namespace
# NS with CONF and the options given, its output appended to CONF's directory's exim.out; wait (max
# 10 s) until something listens on ADDR:PORT. Sets EXIM_PID (nsenter execs exim, so it is Exim's
# own PID, for stop_pid).
exim_daemon_start() {
  local ns=$1 conf=$2 addr=$3 port=$4; shift 4
  nsenter --net="/run/netns/$ns" exim -bdf "$@" -C "$conf" >>"$(dirname "$conf")/exim.out" 2>&1 &
  EXIM_PID=$!
  for _ in $(seq 1 100); do
    [[ -n $(nsenter --net="/run/netns/$ns" ss -Hltn "sport = :$port" | grep -F "$addr") ]] && break
    sleep 0.1
  done
  [[ $(cat "/proc/$EXIM_PID/comm" 2>/dev/null) == exim ]] || echo "exim not running"
}
