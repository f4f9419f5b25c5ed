set -u; source "$(dirname "$0")/lib.sh"; ns_up
S=fd00::31; C=fd00::32
for a in $S $C; do add_addr $a; done
P=$B/caps/synblock-ipv6.pcap
nsx ip6tables -A INPUT -p tcp -d $S --dport 25 -j DROP
cap_start $P "tcp and host $S"
timeout 30 nsenter --net=/run/netns/$NS swaks --server $S --local-interface $C --from a@example.org --to user@example.test --timeout 7 > $B/s23.log 2>&1
sleep 1
kill -TERM $CAP_PID; wait $CAP_PID
nsx ip6tables -F INPUT
oracle $P; report $P
