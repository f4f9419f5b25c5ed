NS=sw13; W=${SWEEP:-/tmp/core-sweep}/w; C=${SWEEP:-/tmp/core-sweep}/caps
nsx() { nsenter --net=/run/netns/$NS "$@"; }
capstart() { nsenter --net=/run/netns/$NS tcpdump -Z root -i lo --immediate-mode -U -w $1 "$2" 2>$1.tcpdump.log & CAP=$!; for i in $(seq 50); do grep -q listening $1.tcpdump.log && break; sleep 0.1; done; }
capstop() { sleep 1; kill -TERM $CAP; wait $CAP; grep dropped $1.tcpdump.log | head -1; }
proxystart() { nsenter --net=/run/netns/$NS python3 -B ${SWEEP:-/tmp/core-sweep}/proxy.py $1 $2 $3 $4 2>$W/proxy-$1.log & PX=$!; sleep 0.5; }
proxystop() { kill -TERM $PX 2>/dev/null; wait $PX 2>/dev/null; }
cli() { timeout 60 nsenter --net=/run/netns/$NS python3 -B ${SWEEP:-/tmp/core-sweep}/cli.py "$@"; }
oracle() { tshark -r $1 -T fields -e frame.number -e tcp.stream -e tcp.len -e tcp.flags.str -e smtp.req.command -e smtp.response.code > $1.oracle.txt 2>/dev/null; }
report() { ${SWEEP:-/tmp/core-sweep}/smtpcap analyze $1 > $1.analyze.txt 2>&1; ${SWEEP:-/tmp/core-sweep}/smtpcap analyze --format json $1 > $1.json 2>&1; }
