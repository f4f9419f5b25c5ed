package capgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// BenchCapture returns the path of a generated gateway capture for
// benchmarks, building it on first use under testdata/large (ignored by
// git). Its size in MiB is SMTPCAP_BENCH_MB, default 64; set it to 1024 to
// measure on the 1 GiB capture the performance notes quote.
func BenchCapture(root string) (string, error) {
	mb := int64(64)
	if v := os.Getenv("SMTPCAP_BENCH_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return "", fmt.Errorf("SMTPCAP_BENCH_MB=%q: want a size in MiB", v)
		}
		mb = n
	}
	dir := filepath.Join(root, "testdata", "large")
	path := filepath.Join(dir, fmt.Sprintf("gateway-%dm.pcap", mb))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var size int64
	w := NewGatewayWriter(bw, &size)
	Gateway(w, &size, GatewayOptions{Seed: 1, TargetBytes: mb << 20, Concurrency: 1000, NonSMTP: 15})
	if err = w.Err(); err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, os.Rename(tmp, path)
}
