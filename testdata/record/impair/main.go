// impair: a userspace netem substitute (the kernels smtpcap's fixtures are
// recorded on have no sch_netem), written by a helper for
// testdata/pcaps/impaired/record.sh. It bridges Ethernet frames between two
// interfaces with AF_PACKET sockets and applies loss (optionally bursty),
// delay and jitter, reordering, duplication and corruption to IPv4/TCP
// frames, independently per direction (-c2s-… for a to b, -s2c-… for b to
// a). Same seed, same decisions for the same frames; the timing of a real
// network still varies from run to run.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

type imp struct {
	loss, burst, reorder, dup, corrupt float64 // percent; burst = P(next lost | this lost)
	delay, jitter                      time.Duration
	burstAt, burstLen                  int // drop burstLen TCP frames starting at TCP frame #burstAt (0=off)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func open(name string) (int, int) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		panic(err)
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
	if err != nil {
		panic(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		panic(err)
	}
	return fd, ifc.Index
}

var mu sync.Mutex
var stats = map[string]int{}

func count(k string) { mu.Lock(); stats[k]++; mu.Unlock() }

func run(tag string, in, out, outIdx int, p imp, seed int64) {
	r := rand.New(rand.NewSource(seed))
	var rmu sync.Mutex
	buf := make([]byte, 65536)
	lastLost := false
	n := 0
	send := func(b []byte) {
		syscall.Sendto(out, b, 0, &syscall.SockaddrLinklayer{Ifindex: outIdx})
	}
	for {
		k, from, err := syscall.Recvfrom(in, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		f := append([]byte(nil), buf[:k]...)
		isTCP := k >= 34 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6
		if !isTCP {
			send(f)
			continue
		}
		n++
		rmu.Lock()
		drop := false
		if p.burstAt > 0 && n >= p.burstAt && n < p.burstAt+p.burstLen {
			drop = true
		} else if lastLost && p.burst > 0 {
			drop = r.Float64()*100 < p.burst
		} else {
			drop = r.Float64()*100 < p.loss
		}
		lastLost = drop
		if drop {
			rmu.Unlock()
			count(tag + " dropped")
			continue
		}
		if r.Float64()*100 < p.corrupt && k > 54 {
			pos := 14 + r.Intn(k-14)
			f[pos] ^= 1 << uint(r.Intn(8))
			count(tag + " corrupted")
		}
		copies := 1
		if r.Float64()*100 < p.dup {
			copies = 2
			count(tag + " duplicated")
		}
		d := p.delay
		if p.jitter > 0 {
			d += time.Duration(r.Int63n(int64(2*p.jitter))) - p.jitter
		}
		if p.reorder > 0 && r.Float64()*100 < p.reorder {
			d = 0 // netem-style: sent at once, overtaking the delayed ones
			count(tag + " reordered")
		}
		rmu.Unlock()
		count(tag + " tcp")
		for c := 0; c < copies; c++ {
			g := f
			if c > 0 {
				g = append([]byte(nil), f...)
			}
			if d <= 0 {
				send(g)
			} else {
				time.AfterFunc(d, func() { send(g) })
			}
		}
	}
}

func main() {
	a := flag.String("a", "", "interface a (client side)")
	b := flag.String("b", "", "interface b (server side)")
	var ab, ba imp
	for _, x := range []struct {
		p   *imp
		pre string
	}{{&ab, "c2s-"}, {&ba, "s2c-"}} {
		flag.Float64Var(&x.p.loss, x.pre+"loss", 0, "loss %")
		flag.Float64Var(&x.p.burst, x.pre+"burst", 0, "P(loss|prev lost) %")
		flag.Float64Var(&x.p.reorder, x.pre+"reorder", 0, "reorder %")
		flag.Float64Var(&x.p.dup, x.pre+"dup", 0, "duplicate %")
		flag.Float64Var(&x.p.corrupt, x.pre+"corrupt", 0, "corrupt %")
		flag.DurationVar(&x.p.delay, x.pre+"delay", 0, "delay")
		flag.DurationVar(&x.p.jitter, x.pre+"jitter", 0, "jitter")
		flag.IntVar(&x.p.burstAt, x.pre+"burst-at", 0, "drop burst at TCP frame #")
		flag.IntVar(&x.p.burstLen, x.pre+"burst-len", 0, "burst length")
	}
	seed := flag.Int64("seed", 1, "seed")
	flag.Parse()
	fa, ia := open(*a)
	fb, ib := open(*b)
	go run("c2s", fa, fb, ib, ab, *seed)
	go run("s2c", fb, fa, ia, ba, *seed+1)
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	<-sig
	mu.Lock()
	for k, v := range stats {
		fmt.Printf("%s=%d\n", k, v)
	}
	mu.Unlock()
}
