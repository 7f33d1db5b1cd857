package replication

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// queueBytes bounds what a replica reads ahead of its apply.
const queueBytes = 64 << 20

// ahead is a primary's stream as its replica reads it: a goroutine reads
// items (frames, or chunks of bytes) ahead of the apply, so that reading
// goes on while applying is held (CLIENT PAUSE), as a paused Redis
// replica's query buffer fills, up to queueBytes.
type ahead[T any] struct {
	mu    sync.Mutex
	items []T
	bytes int
	rerr  error

	wake  chan struct{} // an item or the end arrived
	room  chan struct{} // the apply took items
	quit  chan struct{} // the session ends
	ended chan struct{} // closed once the reader stopped
}

// startAhead runs read until it fails or close is called; read returns an
// item and its size in bytes.
func startAhead[T any](read func() (T, int, error)) *ahead[T] {
	q := &ahead[T]{wake: make(chan struct{}, 1), room: make(chan struct{}, 1),
		quit: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(q.ended)
		for {
			item, n, err := read()
			q.mu.Lock()
			if err != nil {
				q.rerr = err
			} else {
				q.items = append(q.items, item)
				q.bytes += n
			}
			full := q.bytes >= queueBytes
			q.mu.Unlock()
			signal(q.wake)
			if err != nil {
				return
			}
			for full {
				select {
				case <-q.room:
				case <-q.quit:
					return
				}
				q.mu.Lock()
				full = q.bytes >= queueBytes
				q.mu.Unlock()
			}
		}
	}()
	return q
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// next returns the next item, waiting for one, or the error that ended
// the reading once every item read before it was taken; size gives an
// item's bytes.
func (q *ahead[T]) next(size func(T) int) (T, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			item := q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			q.bytes -= size(item)
			q.mu.Unlock()
			signal(q.room)
			return item, nil
		}
		err := q.rerr
		q.mu.Unlock()
		if err != nil {
			var zero T
			return zero, err
		}
		<-q.wake
	}
}

// pending reports that items already read wait.
func (q *ahead[T]) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0
}

// err is why the reading ended.
func (q *ahead[T]) err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rerr == nil {
		return errors.New("replication: the link ended")
	}
	return q.rerr
}

// close stops the reader once its read returns; the session closes the
// connection, which makes it return.
func (q *ahead[T]) close() { close(q.quit) }

// frameQueue is a Shoal primary's stream of frames, read ahead.
type frameQueue struct{ *ahead[[][]byte] }

// readFrames starts reading c's stream through r. Each read has timeout;
// lastIO notes when a frame came and readOff the end of each batch.
func readFrames(c net.Conn, r *bufio.Reader, timeout time.Duration, lastIO, readOff *atomic.Int64) frameQueue {
	return frameQueue{startAhead(func() ([][]byte, int, error) {
		c.SetReadDeadline(time.Now().Add(timeout))
		args, err := readFrame(r)
		if err != nil {
			return nil, 0, err
		}
		lastIO.Store(time.Now().UnixNano())
		if len(args) > 0 && string(args[0]) == "BATCH" {
			end, err := batchEnd(args)
			if err != nil {
				return nil, 0, err
			}
			readOff.Store(end)
		}
		return args, frameBytes(args), nil
	})}
}

// next returns the next frame, or why the stream ended.
func (q frameQueue) next() ([][]byte, error) { return q.ahead.next(frameBytes) }

// batchEnd checks a BATCH frame and returns the offset its entry ends at.
func batchEnd(args [][]byte) (int64, error) {
	if len(args) != 3 {
		return 0, fmt.Errorf("%w: BATCH with %d args", errProtocol, len(args))
	}
	end, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: BATCH offset %q", errProtocol, args[1])
	}
	return end, nil
}

func frameBytes(args [][]byte) int {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	return n
}

// readAhead is a redis-server primary's stream of bytes, read ahead; each
// read's size goes to got (Redis's read_reploff counts the bytes read, not
// those applied). It is the io.Reader the stream's parser reads.
type readAhead struct {
	*ahead[[]byte]
	cur []byte // the rest of the chunk being read
}

func newReadAhead(src io.Reader, got func(n int)) *readAhead {
	buf := make([]byte, 64<<10)
	return &readAhead{ahead: startAhead(func() ([]byte, int, error) {
		for {
			n, err := src.Read(buf)
			if n > 0 {
				got(n)
				// NB: a chunk as long as what came; the error, if any,
				// comes with the next read.
				return bytes.Clone(buf[:n]), n, nil
			}
			if err != nil {
				return nil, 0, err
			}
		}
	})}
}

// Read returns bytes read ahead, waiting for some, or the error that
// ended the reading once all were taken.
func (r *readAhead) Read(p []byte) (int, error) {
	if len(r.cur) == 0 {
		chunk, err := r.ahead.next(func(b []byte) int { return len(b) })
		if err != nil {
			return 0, err
		}
		r.cur = chunk
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// pending reports that bytes read wait.
func (r *readAhead) pending() bool { return len(r.cur) > 0 || r.ahead.pending() }
