#!/usr/bin/env bash
# make-readme.sh: write README.md from the captures, configs and logs that record.sh left here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
S() { python3 summarize.py "$@"; }
{
cat <<'EOF'
# Real SMTP captures (Exim 4 / swaks, Debian 12)

Recorded by `record.sh` (run as root: `./record.sh [OUTDIR] [scenario...]`, OUTDIR defaults to the
script's directory, scenarios `auth slowsrv quitearly bdat data starttls`, default all), then this README
by `make-readme.sh` (uses `summarize.py`). Everything ran in a private network namespace `smtpcap-real`
on its loopback (`ip link set lo mtu 1500`, `ethtool -K lo tso off gso off gro off`, both checked),
removed afterwards. Spools, Exim logs, the TLS key and the Exim configs as run live in a fresh
`mktemp -d` work directory (`$TMPDIR/smtpcap.XXXXXXXX`), removed on exit (`SMTPCAP_KEEP_WORK=1` keeps it).
Scenario N has its server on `127.0.0.N:25` and its client bound to `127.0.1.N`
(auth 31, exim-client-bdat 32, exim-client-data 33, exim-client-starttls 34, slow 37, quit-early 38). Each capture:
`tcpdump -Z root -i lo --immediate-mode -U -B 65536 -w FILE 'tcp and host 127.0.0.N'`, stopped with SIGTERM
once no connection to the server address was left (bounded wait) plus 1 s, so FIN/RST are included.

EOF
printf 'Software: %s; %s; %s; %s\n\n' "$(exim -bV 2>/dev/null | head -n1)" "$(swaks --version 2>/dev/null | head -n1)" \
	"$(tcpdump --version 2>&1 | head -n1)" "$(tshark --version 2>/dev/null | head -n1)"
cat <<'EOF'
Every capture was checked by record.sh with tshark: one TCP stream each, no kernel drops, no
`tcp.analysis.{lost_segment,ack_lost_segment,retransmission,out_of_order}` frame (so no "previous segment
not captured"), a FIN from both sides and no RST (quit-early: an RST from the server and no FIN from the
client), and the server's reply codes, read from the reassembled byte stream (`summarize.py --codes`),
equal to the expected list for the scenario. A scenario is recorded again (at most 3 attempts) if any of
that fails; `logs/warnings.txt` lists captures kept after 3 flawed attempts: none in this run.
There are no `Window Full` / `ZeroWindow` frames in these captures (largest message about 40 KB).

Files:

- `*.pcap`: the captures (classic pcap, Ethernet link type, microsecond timestamps).
- `exim-client-starttls.keylog`: TLS 1.3 secrets of the STARTTLS session (written by the server's
  GnuTLS via `SSLKEYLOGFILE`); `tshark -o tls.keylog_file:exim-client-starttls.keylog` decrypts it.
- `conf/`: the Exim configurations as used (`server-*.conf`, `client-*.conf`), with the run-time work
  directory replaced by the word `WORKDIR` (spool, log, mbox, TLS certificate paths).
- `oracle/NAME.tsv`: full output of
  `tshark -r NAME.pcap -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code`.
- `logs/`: swaks command lines and transcripts (`swaks.*.cmd/.log`, work directory shown as `WORKDIR`), Exim server
  and client main/reject/panic logs, the Exim client queue run output with `-v` (`client-*.qrun.log`, it shows
  the first message's SMTP dialogue only; the following messages go through a re-exec'd `exim -MC`).
  The paniclog lines `exim user lost privilege for using -C option` are expected (local delivery re-exec
  with an alternate config); every delivery completed.

Below, for each capture: scenario, commands, the tshark oracle condensed to the frames that carry an SMTP
command or reply, and a transcript rebuilt by `summarize.py` from the reassembled TCP byte streams
(`tshark -z follow,tcp,raw`), which parses BDAT chunk sizes and DATA bodies itself.

**Known tshark (4.0.17) oracle limitations in these files**: (1) in `exim-client-bdat.pcap`
and the decrypted `exim-client-starttls.pcap`, the client's pipelined `MAIL`/`RCPT`/`BDAT` commands and chunk data
come in one segment and tshark's SMTP dissector shows it all as "DATA fragment" with no `smtp.req.command`:
the tshark oracle lists **no client commands after EHLO** there (only the server's replies). Use the rebuilt
transcript. (2) In the three Exim-client captures the client pipelines `QUIT` right behind the end of the
last message (after `.CRLF` in exim-client-data.pcap frame 58, after the last BDAT chunk in
exim-client-bdat.pcap frame 51, inside TLS in exim-client-starttls.pcap); tshark shows no QUIT command there,
only the server's `221` coalesced with the last `250`.

Common server settings (all `conf/server-*.conf`): `primary_hostname = mx.example.test`, `smtp_banner =
$smtp_active_hostname ESMTP Exim $version_number`, `message_size_limit = 10M` (SIZE 10485760), 8BITMIME,
`pipelining_advertise_hosts = *`, no DNS/ident lookups, RCPT ACL: local part `nobody` -> `550 unknown user`,
other `@example.test` accepted, anything else `550 relay not permitted` (except the auth server: see 1).
Servers were started with `exim -bdf -oX 25 -C WORKDIR/conf/server-NAME.conf` inside the namespace.

## 1. AUTH: `auth-plain.pcap`, `auth-login.pcap`, `auth-fail.pcap`

Server `conf/server-auth.conf` (127.0.0.31): `auth_advertise_hosts = *`, no TLS offered
(`tls_advertise_hosts =`), plaintext authenticators PLAIN and LOGIN, user `testuser`, password `testpass`;
RCPT ACL accepts only authenticated senders. EHLO offers `AUTH PLAIN LOGIN`, PIPELINING, CHUNKING.

Commands (`logs/swaks.auth-*.cmd`), message from a file (`--data @file`, 6 header lines + 2 body lines):

```
swaks --from sender@example.org --helo client.example.org --port 25 --timeout 30s --server 127.0.0.31 --local-interface 127.0.1.31 --to user@example.test --auth PLAIN --auth-user testuser --auth-password testpass --data @auth-plain.msg
swaks ... --auth LOGIN --auth-user testuser --auth-password testpass --data @auth-login.msg
swaks ... --auth PLAIN --auth-user testuser --auth-password wrongpass --data @auth-fail.msg   (exit code 28)
```

Result: auth-plain: `AUTH PLAIN <initial response>` -> 235, message accepted (250), QUIT/221.
auth-login: `AUTH LOGIN` -> 334 `VXNlcm5hbWU6`, username -> 334 `UGFzc3dvcmQ6`, password -> 235, message accepted
(250), QUIT/221. auth-fail: `AUTH PLAIN` -> `535 Incorrect authentication data`, swaks sends QUIT -> 221; no
MAIL. (Server log: `A=plain:testuser`, `A=login:testuser`, `plain authenticator failed ... 535`.)

EOF
S auth-plain.pcap auth-login.pcap auth-fail.pcap
cat <<'EOF'
## 2. `exim-client-bdat.pcap`: Exim client, 3 messages, BDAT, one connection

Server `conf/server-bdat.conf` (127.0.0.32): offers PIPELINING and CHUNKING (`chunking_advertise_hosts = *`), no TLS.
Client `conf/client-bdat.conf`: a second Exim instance (own spool), `manualroute` of `example.test` to 127.0.0.32,
smtp transport with `interface = 127.0.1.32`, `hosts_try_chunking = *`, pipelining allowed
(`hosts_avoid_pipelining =`), `hosts_avoid_tls = *`, `hosts_try_fastopen/prdr/dane` empty,
`queue_run_in_order = true`; anything not example.test (the bounce) goes to a local mbox.

Commands (see `queue3` and `runq` in record.sh):

```
exim -C conf/client-bdat.conf -odq -f sender@example.org user1@example.test < m1.msg   # ~40 KB plain text (556 lines)
exim -C conf/client-bdat.conf -odq -f sender@example.org user2@example.test < m2.msg   # UTF-8 body, Content-Transfer-Encoding: 8bit
exim -C conf/client-bdat.conf -odq -f sender@example.org user3@example.test nobody@example.test < m3.msg
nsenter --net=/run/netns/smtpcap-real exim -C conf/client-bdat.conf -qqff -v    # two-phase queue run: route all, then one connection per host
```

Result: **BDAT is used** (tshark-verified from the reassembled stream; server log flag `K` = CHUNKING on every
message, client log `*` = continued connection). One connection: EHLO, then message 1: `MAIL SIZE=41981`,
`RCPT`, `BDAT 370` + the 370 header bytes pipelined in one segment (frame 7) -> 250/250/250, then
`BDAT 40588 LAST` (frames 10-43, 30 segments of up to 1448 bytes) -> `250- 40588 byte chunk, total 40958` / `250 OK id=...`. Then message 3 (Exim's continued-connection order
is 1, 3, 2, not arrival order): `MAIL`, `RCPT user3`, `RCPT nobody`, `BDAT 449 LAST` all pipelined in one
segment -> 250, 250, **550 unknown user**, 250 (delivered to user3; client bounces nobody@ locally). Then
message 2 (the 8-bit one): `MAIL`, `RCPT`, `BDAT 595 LAST` -> 250, 250, 250; then `QUIT` -> 221. The 8-bit
UTF-8 bytes (70 bytes >= 0x80) are in the BDAT chunk. Note: Exim as a client never sends `BODY=8BITMIME`
(the 4.96 binary has no `BODY=` string, and its spool keeps no 8BITMIME flag), so no MAIL carries BODY=;
SIZE= is sent. Every message accepted with 250; the only rejection is the intended 550 for nobody@.

EOF
S exim-client-bdat.pcap
cat <<'EOF'
## 3. `exim-client-data.pcap`: same, server without CHUNKING -> DATA

Server `conf/server-data.conf` (127.0.0.33): as 2 but `chunking_advertise_hosts =` (EHLO: SIZE, 8BITMIME,
PIPELINING, SMTPUTF8, HELP). Client `conf/client-data.conf` identical to 2 except address 127.0.1.33 and
target 127.0.0.33. Same queueing and `-qqff` commands.

Result: one connection, three transactions with DATA, each `MAIL`/`RCPT`(s)/`DATA` pipelined in one segment:
message 1 (~40 KB: 40958 bytes + `.CRLF`) -> 250, 250, 354, 250; message 3 -> 250, 250, **550** (nobody@), 354,
250; message 2 (8-bit body) -> 250, 250, 354, 250; QUIT -> 221. All three messages accepted.

EOF
S exim-client-data.pcap
cat <<'EOF'
## 4. `exim-client-starttls.pcap`: Exim client to Exim server with STARTTLS

Server `conf/server-starttls.conf` (127.0.0.34): `tls_advertise_hosts = *`, self-signed RSA-2048 certificate
(`openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.example.test`), CHUNKING and PIPELINING
offered, started with `SSLKEYLOGFILE=tls.keylog` (spool-relative, `keep_environment = SSLKEYLOGFILE`).
Client `conf/client-starttls.conf`: `hosts_require_tls = *` and no certificate verification
(`tls_verify_hosts =`, `tls_try_verify_hosts =`, `tls_verify_certificates =`; Exim has no `hosts_try_tls`,
TLS is tried by default). One message queued with `-odq`, delivered with `-qqff`.

Result: EHLO -> 250 (STARTTLS offered), `STARTTLS` -> `220 TLS go ahead`, TLS 1.3 handshake, then encrypted.
Decrypted with the key log: EHLO, then `MAIL`/`RCPT`/`BDAT 419 LAST` pipelined -> 250, 250, 250 + `250 OK id=`,
QUIT -> 221, TLS close_notify both ways, FIN both ways. Message accepted.
The condensed oracle below is the plain (not decrypted) tshark output, as asked; the decrypted view:
`tshark -r exim-client-starttls.pcap -o tls.keylog_file:exim-client-starttls.keylog -T fields -e frame.number -e tcp.stream -e tcp.len -e smtp.req.command -e smtp.response.code`
gives 14 EHLO, 16 250, 17 (533 bytes, no command shown: pipelined BDAT, see limitation above), 19 `250,250,250,221`.

EOF
S exim-client-starttls.pcap
cat <<'EOF'
## 5. `slow-server.pcap`: RCPT ACL with `delay = 3s`

Server `conf/server-slow.conf` (127.0.0.37): RCPT ACL `accept domains = example.test` + `delay = 3s`.

```
swaks --from sender@example.org --helo client.example.org --port 25 --timeout 30s --server 127.0.0.37 --local-interface 127.0.1.37 --to user@example.test --data @slow.msg
```

Result: RCPT at t=0.006 s, a bare ACK from the server at t=0.049 s (delayed ACK), `250 Accepted` at t=3.009 s; then DATA/354, message, 250, QUIT/221.
Everything succeeded.

EOF
S slow-server.pcap
cat <<'EOF'
## 6. `quit-early.pcap`: 554 at connect

Server `conf/server-quitearly.conf` (127.0.0.38): `acl_smtp_connect` with `deny message = 554 5.7.1 service
refused for smtpcap test` (without the explicit code Exim answers 550).

```
swaks --from sender@example.org --helo client.example.org --port 25 --timeout 30s --server 127.0.0.38 --local-interface 127.0.1.38 --to user@example.test    (exit code 21)
```

Result: handshake, banner `554 5.7.1 service refused for smtpcap test`, client ACK, swaks sends `QUIT` 0.5 ms
later; Exim closes its socket without reading it, so the kernel answers with an **RST** (ACK+RST, frame 7):
no 221, **no FIN from either side**. No transaction. (Which comes first, swaks's QUIT or Exim's close, is a
race: in an earlier take Exim's FIN came before the QUIT, then the QUIT got a bare RST. record.sh accepts
both shapes: RST from the server, FIN from the server or not, none from the client.)

EOF
S quit-early.pcap
} >README.md
