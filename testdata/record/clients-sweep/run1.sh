source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
C=${SWEEP:-/tmp/clients-sweep}/caps
X="ip netns exec sw12"
run1() { local name=$1; shift; cap_start $C/$name.pcap -i lo --immediate-mode -U "tcp and host $SRV"; echo "## $name" >> $W/clients.log; timeout 150 "$@" >> $W/clients.log 2>&1; echo "rc=$?" >> $W/clients.log; cap_stop $C/$name.pcap >/dev/null; }
MS="msmtp -C /dev/null --host=$SRV --domain=msmtp.example.org --from=sender@example.org --tls-certcheck=off"
