# shellcheck shell=bash
# conf_osd.sh: osd_conf ADDR..., the OpenSMTPD server configuration of s01_osd_stall.sh and
# s02_osd_server.sh: max-message-size 20K, local delivery (maildir) for the domain mx.test only,
# one listener per ADDR on port 25 with STARTTLS offered ("tls pki mx.test"). OSD_KEY picks the
# certificate in the chroot's /etc/smtpd (mx = RSA 2048, the default; mx-ec = ECDSA P-256, both
# made by setup.sh); OSD_EXTRA adds configuration lines (e.g. "smtp limit max-mails 1 max-rcpt 2").
osd_conf() {
  local c="pki mx.test cert \"/etc/smtpd/${OSD_KEY:-mx}.crt\"
pki mx.test key \"/etc/smtpd/${OSD_KEY:-mx}.key\"
smtp max-message-size 20K
table aliases file:/etc/aliases
${OSD_EXTRA:-}"
  local a; for a in "$@"; do c="$c
listen on $a port 25 hostname mx.test tls pki mx.test"; done
  c="$c
action \"local\" maildir alias <aliases>
match from any for domain \"mx.test\" action \"local\""
  printf '%s' "$c"
}
