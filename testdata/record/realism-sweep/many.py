#!/usr/bin/env python3
"""many.py HOST PORT N: N SMTP sessions at once (threads, smtplib), released together by a barrier.
Session i sends to a mix: i%4==0 user@ only; 1: user@+nobody@ (550); 2: grey@ only (451 -> no mail);
3: user@+other@elsewhere.test (relay denied). Prints one line per session and a summary."""
import smtplib, sys, threading, collections
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bar = threading.Barrier(n, timeout=30)
res = collections.Counter(); lock = threading.Lock(); lines = []
def run(i):
    rc = [["user@example.test"], ["user@example.test", "nobody@example.test"], ["grey@example.test"],
          ["user@example.test", "other@elsewhere.test"]][i % 4]
    try:
        s = smtplib.SMTP(timeout=40, local_hostname="c%d.example.org" % i)
        bar.wait()
        s.connect(host, port)
        try:
            r = s.sendmail("s%d@example.org" % i, rc, "Subject: many %d\r\n\r\nbody %d\r\n" % (i, i))
            out = "ok refused=%s" % sorted(r)
        except smtplib.SMTPRecipientsRefused as e:
            out = "allrefused %s" % sorted((k, v[0]) for k, v in e.recipients.items())
        s.quit()
    except Exception as e:
        out = "error %r" % e
    with lock:
        lines.append("%d %s %s" % (i, rc, out)); res[out.split()[0]] += 1
ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
[t.start() for t in ts]; [t.join(60) for t in ts]
print("\n".join(sorted(lines, key=lambda l: int(l.split()[0]))))
print("summary", dict(res))
