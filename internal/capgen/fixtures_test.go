package capgen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/smtpcap/smtpcap/internal/capgen"
	"github.com/smtpcap/smtpcap/internal/testcaps"
)

// TestCraftedFixturesAreReproducible checks that every committed crafted
// capture is exactly what the generator writes today, so each can be
// rebuilt (go run ./cmd/capgen -fixtures testdata/pcaps/crafted) and read
// as code.
func TestCraftedFixturesAreReproducible(t *testing.T) {
	for _, f := range capgen.Fixtures() {
		path := filepath.Join(testcaps.Root(), "testdata", "pcaps", "crafted", f.Name)
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go run ./cmd/capgen -fixtures testdata/pcaps/crafted)", f.Name, err)
			continue
		}
		if !bytes.Equal(committed, capgen.BuildFixture(f)) {
			t.Errorf("%s differs from what the generator writes; rebuild it", f.Name)
		}
	}
}
