#!/usr/bin/env python3
"""wire.py: a userspace 'wire' between two interfaces (possibly in different netns), because this kernel has
no 8021q, no bridge VLAN filtering and no netem. Frames from A go to B with VLAN tags pushed (--tag
8100:100 or --tag 88a8:200,8100:300), frames from B go to A with those tags popped. Optional impairment on
both directions: --loss P --dup P --reorder P --delay MS (reorder: hold a frame back an extra 2*delay+5 ms).
Usage: wire.py NS_A IF_A NS_B IF_B [--tag ...] [--loss ...] [--seed N]. Runs until SIGTERM; prints counters."""
import ctypes, os, socket, struct, sys, argparse, select, random, heapq, time, signal
ap = argparse.ArgumentParser()
ap.add_argument("nsa"); ap.add_argument("ifa"); ap.add_argument("nsb"); ap.add_argument("ifb")
ap.add_argument("--tag", default=""); ap.add_argument("--loss", type=float, default=0)
ap.add_argument("--dup", type=float, default=0); ap.add_argument("--reorder", type=float, default=0)
ap.add_argument("--delay", type=float, default=0); ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
rnd = random.Random(a.seed)
tags = [(int(t.split(":")[0], 16), int(t.split(":")[1])) for t in a.tag.split(",") if t]
SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40
def sock_in(ns, ifn):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0: raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(fd)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifn, 0)); s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    return s
sa = sock_in(a.nsa, a.ifa); sb = sock_in(a.nsb, a.ifb)
def recv(s):
    data, anc, _, addr = s.recvmsg(70000, socket.CMSG_SPACE(32))
    if addr[2] == socket.PACKET_OUTGOING: return None
    for lvl, typ, d in anc:
        if lvl == SOL_PACKET and typ == PACKET_AUXDATA:
            st, ln, snap, mac, net, tci, tpid = struct.unpack("IIIHHHH", d[:20])
            if st & TP_STATUS_VLAN_VALID:
                tp = tpid if st & TP_STATUS_VLAN_TPID_VALID else 0x8100
                data = data[:12] + struct.pack("!HH", tp, tci) + data[12:]
    return data
def push(f):
    hdr = b"".join(struct.pack("!HH", tp, vid) for tp, vid in tags)
    return f[:12] + hdr + f[12:]
def pop(f):
    for tp, vid in tags:
        if struct.unpack("!H", f[12:14])[0] != tp: return None
        f = f[:12] + f[16:]
    return f
n = {"ab": 0, "ba": 0, "lost": 0, "dup": 0, "reord": 0, "bad": 0, "err": 0}
q = []; seq = 0
def sched(out, f):
    global seq
    if rnd.random() < a.loss: n["lost"] += 1; return
    copies = 2 if rnd.random() < a.dup else 1
    if copies == 2: n["dup"] += 1
    for _ in range(copies):
        d = a.delay / 1000
        if rnd.random() < a.reorder: d += (2 * a.delay + 5) / 1000; n["reord"] += 1
        seq += 1; heapq.heappush(q, (time.monotonic() + d, seq, out, f))
stop = False
def term(*_):
    global stop; stop = True
signal.signal(signal.SIGTERM, term)
while not stop:
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, _, out, f = heapq.heappop(q)
        try: out.send(f)
        except OSError as e: n["err"] += 1
    to = max(0, q[0][0] - now) if q else 0.2
    try: r, _, _ = select.select([sa, sb], [], [], to)
    except InterruptedError: continue
    for s in r:
        f = recv(s)
        if f is None: continue
        if s is sa: n["ab"] += 1; sched(sb, push(f) if tags else f)
        else:
            n["ba"] += 1; g = pop(f) if tags else f
            if g is None: n["bad"] += 1; continue
            sched(sa, g)
print("wire", a.ifa, a.ifb, n, flush=True)
