#!/usr/bin/env python3
"""dupcount.py FILE.pcap: count packets whose IP packet is byte-identical to an earlier packet of the same
direction (last 50 packets of that flow), for comparison with smtpcap's 'same IP packet' note. Ethernet/SLL2 pcap only."""
import struct, sys, collections
b = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', b[:4])[0]; lt = struct.unpack('<I', b[20:24])[0]
off = {1: 14, 276: 20}[lt]
o = 24; n = 0; seen = collections.defaultdict(lambda: collections.deque(maxlen=50)); hits = []
while o < len(b):
    n += 1; ts, tu, cl, ol = struct.unpack('<IIII', b[o:o + 16]); d = b[o + 16:o + 16 + cl]; o += 16 + cl
    ip = d[off:]
    if lt == 1 and d[12:14] == b'\x86\xdd' or lt == 276 and d[0:2] == b'\x86\xdd': key = ip[8:40]
    else: key = ip[12:20]
    if ip in seen[key]: hits.append(n)
    seen[key].append(ip)
print(len(hits), "byte-identical repeats:", hits[:40])
