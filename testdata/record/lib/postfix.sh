# shellcheck shell=bash
# postfix.sh: a real Postfix 3.7 (Debian bookworm's postfix) run from a private config directory,
# the parts every recording script configures alike. Sourced by testdata/record/postfix.sh (so by
# the record.sh of testdata/pcaps/postfix-bare, testdata/pcaps/postscreen and testdata/record/tls),
# testdata/record/fragments/record.sh, testdata/record/pmtu/record.sh and
# testdata/record/fallback/record-postfix.sh (a client: pf_main_base only). Each script keeps its own
# listeners (with their -o overrides), main.cf additions and scenarios.
#
# The caller sets RUN (Postfix's run dir), CONF (its config dir, below RUN) and MAILLOG (the
# maillog_file) before calling these. Every wait bounded; only the master of the instance started
# here is waited for, by the PID in its pid file, never by name.

# pf_main_base HOSTNAME DOMAIN: print the main.cf lines every instance starts from, server or
# client: its own queue, data and log under RUN, the names it goes by (myorigin DOMAIN), IPv4 only,
# no DNS, no aliases.
pf_main_base() {
  cat <<EOC
compatibility_level = 3.6
queue_directory = $RUN/queue
data_directory = $RUN/data
maillog_file = $MAILLOG
maillog_file_prefixes = $RUN/log
myhostname = $1
mydomain = $2
myorigin = $2
inet_protocols = ipv4
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
EOC
}

# pf_main_cf MYNETWORKS: print the main.cf every recording's server starts from: pf_main_base as
# mx.example.test for example.test, no peer name lookup, local recipients from CONF/recipients and
# every transport discard: (nothing leaves).
pf_main_cf() {
  pf_main_base mx.example.test example.test
  cat <<EOC
mydestination = example.test
inet_interfaces = all
smtpd_banner = \$myhostname ESMTP Postfix
mynetworks = $1
smtpd_peername_lookup = no
local_recipient_maps = texthash:$CONF/recipients
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
default_transport = discard:
EOC
}

# pf_master_services: print the master.cf lines of the services every recording needs besides
# its listeners, none chrooted, logging through postlogd.
pf_master_services() {
  local s
  for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
    "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" \
    "trace unix - - n - 0 bounce" "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
    "proxymap unix - - n - - proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
    "retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
    "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd"; do
    echo "$s"
  done
}

# pf_write_conf MYNETWORKS LISTENER...: a fresh RUN with main.cf (pf_main_cf), recipients root,
# postmaster, b, c and d, and master.cf with one line per LISTENER (e.g. "10.7.3.2:25 inet n - n -
# - smtpd") before the usual services; postconf must read it.
pf_write_conf() {
  local net=$1 l; shift
  rm -rf "$RUN"
  mkdir -p "$CONF" "$RUN/queue" "$RUN/data" "$RUN/log"; chown postfix "$RUN/data"; chmod 755 "$RUN"
  pf_main_cf "$net" >"$CONF/main.cf"
  printf 'root OK\npostmaster OK\nb OK\nc OK\nd OK\n' >"$CONF/recipients"
  { for l in "$@"; do echo "$l"; done; pf_master_services; } >"$CONF/master.cf"
  postconf -c "$CONF" -n >/dev/null
}

# pf_daemon_running: the master named in RUN's pid file is alive and is Postfix's master.
pf_daemon_running() {
  local p; p=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid" 2>/dev/null)
  [[ -n $p ]] && [[ $(cat /proc/$p/comm 2>/dev/null) == master ]]
}

# pf_daemon_start NS [ADDR]: `postfix start` (a daemon) in namespace NS; wait (max 10 s) until it
# listens on ADDR:25, or, for a client without a listener (no ADDR), until its master runs.
pf_daemon_start() {
  nsenter --net="/run/netns/$1" postfix -c "$CONF" start >"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do
    if [[ -n ${2:-} ]]; then
      nsenter --net="/run/netns/$1" ss -Hltn | grep -q "$2:25" && break
    else
      pf_daemon_running && break
    fi
    sleep 0.1
  done
  pf_daemon_running || { echo "postfix did not start" >&2; cat "$RUN/postfix.out" >&2; return 1; }
  echo "postfix up, master $(tr -dc 0-9 <"$RUN/queue/pid/master.pid")" >&2
}

# pf_daemon_stop NS: if pf_daemon_start's instance runs, `postfix stop` in NS and wait (max 10 s)
# for its master to end; warn if it has not.
pf_daemon_stop() {
  [[ -f $CONF/main.cf ]] && pf_daemon_running || return 0
  local m; m=$(tr -dc 0-9 <"$RUN/queue/pid/master.pid")
  nsenter --net="/run/netns/$1" postfix -c "$CONF" stop >>"$RUN/postfix.out" 2>&1
  for _ in $(seq 1 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$m" 2>/dev/null; then echo "WARN: postfix master $m still running" >&2; fi
}
