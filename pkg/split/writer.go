package split

import (
	"container/list"
	"fmt"
	"os"
	"sync"

	"github.com/smtpcap/smtpcap/internal/outfile"
)

// A piece is a run of records for one output file, handed from the
// reading goroutine to a fileWriter.
type piece struct {
	path   string   // the file's .part name
	data   [][]byte // the records; the blocks go back to the pool once written
	create bool     // the first piece: create (or truncate) the file
	last   bool     // the connection has closed: close the file afterwards
}

// A fileWriter does the file system work of a split on its own goroutine,
// so that the capture is read and decoded while the kernel creates files
// and copies data into them. Every piece of one output goes to the same
// fileWriter, in order, so each file is written front to back.
type fileWriter struct {
	pieces  chan piece
	pool    *blockPool
	maxOpen int
	dirLock *sync.Mutex // shared by the writers: held while creating a file

	open map[string]*list.Element // path → element of lru holding an *openFile
	lru  *list.List               // most recently written first

	mu  sync.Mutex
	err error // the first failure; later pieces are dropped
}

type openFile struct {
	path string
	f    *os.File
}

func newFileWriter(pool *blockPool, dirLock *sync.Mutex, maxOpen, queue int) *fileWriter {
	return &fileWriter{
		pieces:  make(chan piece, queue),
		pool:    pool,
		dirLock: dirLock,
		maxOpen: max(1, maxOpen),
		open:    make(map[string]*list.Element),
		lru:     list.New(),
	}
}

// run writes pieces until the channel is closed, then closes every file.
func (w *fileWriter) run(done *sync.WaitGroup) {
	defer done.Done()
	for p := range w.pieces {
		if w.failed() == nil {
			if err := w.write(p); err != nil {
				w.fail(err)
			}
		}
		w.pool.put(p.data)
	}
	for w.lru.Len() > 0 {
		if err := w.closeFile(w.lru.Back()); err != nil {
			w.fail(err)
		}
	}
}

func (w *fileWriter) write(p piece) error {
	e := w.open[p.path]
	if e == nil {
		flags := os.O_WRONLY | os.O_APPEND
		if p.create {
			flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL // never through a link, never over a file
		}
		if w.lru.Len() >= w.maxOpen {
			if err := w.closeFile(w.lru.Back()); err != nil {
				return err
			}
		}
		// Creating a file takes the directory's lock in the kernel, and a
		// second creator spins on it; one creator at a time, while the
		// other writers copy data, is faster. On ext4 without a journal,
		// just after many files were deleted (a split run again), creates
		// are slow and without this lock a quarter of all CPU went to the
		// second creator spinning (rwsem_spin_on_owner); on a fresh
		// journaled ext4 the lock makes no difference beyond the noise.
		if p.create {
			w.dirLock.Lock()
		}
		f, err := outfile.Open(p.path, flags)
		if p.create {
			w.dirLock.Unlock()
		}
		if err != nil {
			return err
		}
		e = w.lru.PushFront(&openFile{p.path, f})
		w.open[p.path] = e
	} else {
		w.lru.MoveToFront(e)
	}
	f := e.Value.(*openFile).f
	for _, b := range p.data {
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("writing %s: %w", p.path, err)
		}
	}
	if p.last {
		return w.closeFile(e)
	}
	return nil
}

func (w *fileWriter) closeFile(e *list.Element) error {
	of := w.lru.Remove(e).(*openFile)
	delete(w.open, of.path)
	if err := of.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", of.path, err)
	}
	return nil
}

func (w *fileWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *fileWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// blockSize is the size of the blocks records are gathered in.
const blockSize = 32 << 10

// blockPool recycles the blocks outputs gather their records in. Every
// block ever made comes back to it once written, and the number in use at
// once is bounded (by the Splitter's heldBudget and the writers' queues),
// so after the first connections a split allocates no more record memory.
type blockPool struct {
	mu   sync.Mutex
	free [][]byte
}

func (p *blockPool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, blockSize)
}

func (p *blockPool) put(blocks [][]byte) {
	p.mu.Lock()
	for _, b := range blocks {
		if cap(b) == blockSize { // not an output's small first block: the GC takes those
			p.free = append(p.free, b)
		}
	}
	p.mu.Unlock()
}

// firstBlockSize is the size of an output's first block. Most of what a
// capture holds at once may be connections with a few small packets
// (a scan's SYNs, a refused session): a pool block for each would hold
// 32 KiB for every one of them.
const firstBlockSize = 512

// blocks is a byte sequence gathered in blocks from a blockPool: appending
// never copies what was gathered before.
type blocks struct {
	list [][]byte
	size int // bytes in all blocks
}

func (b *blocks) write(pool *blockPool, p []byte) {
	b.size += len(p)
	for len(p) > 0 {
		k := len(b.list) - 1
		if k < 0 || len(b.list[k]) == cap(b.list[k]) {
			if k < 0 && len(p) <= firstBlockSize {
				b.list = append(b.list, make([]byte, 0, firstBlockSize))
			} else {
				b.list = append(b.list, pool.get())
			}
			k++
		}
		last := b.list[k]
		n := copy(last[len(last):cap(last)], p)
		b.list[k] = last[:len(last)+n]
		p = p[n:]
	}
}
