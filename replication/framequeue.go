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

// queueBytes bounds the frames a replica reads ahead of its apply.
const queueBytes = 64 << 20

// frameQueue is a Shoal primary's stream as its replica reads it: a
// goroutine reads frames ahead of the apply, so that reading goes on
// while applying is held (CLIENT PAUSE), as a paused Redis replica's
// query buffer fills, up to queueBytes.
type frameQueue struct {
	mu     sync.Mutex
	frames [][][]byte
	bytes  int
	rerr   error

	wake  chan struct{} // a frame or the end arrived
	room  chan struct{} // the apply took frames
	quit  chan struct{} // the session ends
	ended chan struct{} // closed once the reader stopped
}

// readFrames starts reading c's stream through r. Each read has timeout;
// lastIO notes when a frame came and readOff the end of each batch.
func readFrames(c net.Conn, r *bufio.Reader, timeout time.Duration, lastIO, readOff *atomic.Int64) *frameQueue {
	q := &frameQueue{wake: make(chan struct{}, 1), room: make(chan struct{}, 1),
		quit: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(q.ended)
		for {
			c.SetReadDeadline(time.Now().Add(timeout))
			args, err := readFrame(r)
			if err == nil {
				lastIO.Store(time.Now().UnixNano())
				if len(args) > 0 && string(args[0]) == "BATCH" {
					var end int64
					if end, err = batchEnd(args); err == nil {
						readOff.Store(end)
					}
				}
			}
			q.mu.Lock()
			if err != nil {
				q.rerr = err
			} else {
				q.frames = append(q.frames, args)
				q.bytes += frameBytes(args)
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

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// next returns the next frame, waiting for one, or the error that ended
// the reading once every frame read before it was taken.
func (q *frameQueue) next() ([][]byte, error) {
	for {
		q.mu.Lock()
		if len(q.frames) > 0 {
			f := q.frames[0]
			q.frames[0] = nil
			q.frames = q.frames[1:]
			q.bytes -= frameBytes(f)
			q.mu.Unlock()
			signal(q.room)
			return f, nil
		}
		err := q.rerr
		q.mu.Unlock()
		if err != nil {
			return nil, err
		}
		<-q.wake
	}
}

// pending reports that frames already read wait.
func (q *frameQueue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames) > 0
}

// err is why the reading ended.
func (q *frameQueue) err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rerr == nil {
		return errors.New("replication: the link ended")
	}
	return q.rerr
}

// close stops the reader once its read returns; the session closes the
// connection, which makes it return.
func (q *frameQueue) close() { close(q.quit) }

// readAhead is a redis-server primary's stream as its replica reads it:
// a goroutine reads the bytes ahead of the parser, up to queueBytes, so
// that reading goes on while applying is held; each read's size goes to
// got (Redis's read_reploff counts the bytes read, not those applied).
type readAhead struct {
	mu     sync.Mutex
	chunks [][]byte
	bytes  int
	rerr   error

	wake, room, quit, ended chan struct{}
}

func newReadAhead(src io.Reader, got func(n int)) *readAhead {
	r := &readAhead{wake: make(chan struct{}, 1), room: make(chan struct{}, 1),
		quit: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(r.ended)
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				got(n)
			}
			r.mu.Lock()
			if n > 0 {
				r.chunks = append(r.chunks, bytes.Clone(buf[:n])) // NB: as long as what came
				r.bytes += n
			}
			if err != nil {
				r.rerr = err
			}
			full := r.bytes >= queueBytes
			r.mu.Unlock()
			signal(r.wake)
			if err != nil {
				return
			}
			for full {
				select {
				case <-r.room:
				case <-r.quit:
					return
				}
				r.mu.Lock()
				full = r.bytes >= queueBytes
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// Read returns bytes read ahead, waiting for some, or the error that
// ended the reading once all were taken.
func (r *readAhead) Read(p []byte) (int, error) {
	for {
		r.mu.Lock()
		if len(r.chunks) > 0 {
			n := copy(p, r.chunks[0])
			if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
				r.chunks[0] = nil
				r.chunks = r.chunks[1:]
			}
			r.bytes -= n
			r.mu.Unlock()
			signal(r.room)
			return n, nil
		}
		err := r.rerr
		r.mu.Unlock()
		if err != nil {
			return 0, err
		}
		<-r.wake
	}
}

// pending reports that bytes read wait.
func (r *readAhead) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes > 0
}

// err is why the reading ended.
func (r *readAhead) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rerr == nil {
		return errors.New("replication: the link ended")
	}
	return r.rerr
}

// close stops the reader once its read returns.
func (r *readAhead) close() { close(r.quit) }
