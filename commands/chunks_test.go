package commands_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/storage"
)

// chunkOps makes a seeded sequence of string commands on a few keys whose
// values cross storage.ChunkThreshold both ways: SET of short and long
// values, SETRANGE, APPEND and SETBIT at offsets within and past a chunk,
// and the reads that look at ranges (GETRANGE, GETBIT, BITCOUNT, BITPOS,
// STRLEN, GET).
func chunkOps(seed uint64, n int) [][]any {
	r := rand.New(rand.NewPCG(seed, 7))
	const span = 3*storage.ChunkSize + 1000
	keys := []string{"a", "b", "c"}
	payload := func(max int) string {
		b := make([]byte, 1+r.IntN(max))
		switch r.IntN(3) {
		case 0: // zeros, which chunks do not store
		case 1:
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
		default:
			for i := range b {
				b[i] = "xyz"[r.IntN(3)]
			}
		}
		return string(b)
	}
	off := func() int64 {
		switch r.IntN(4) {
		case 0:
			return int64(r.IntN(100))
		case 1: // about a chunk's edge
			return int64(storage.ChunkSize*(1+r.IntN(3)) - 50 + r.IntN(100))
		}
		return int64(r.IntN(span))
	}
	var ops [][]any
	for range n {
		k := keys[r.IntN(len(keys))]
		switch r.IntN(14) {
		case 0:
			ops = append(ops, []any{"SET", k, payload(200)})
		case 1:
			ops = append(ops, []any{"SET", k, payload(2 * storage.ChunkSize)})
		case 2, 3:
			ops = append(ops, []any{"SETRANGE", k, off(), payload(3000)})
		case 4:
			ops = append(ops, []any{"APPEND", k, payload(storage.ChunkSize / 2)})
		case 5, 6:
			ops = append(ops, []any{"SETBIT", k, off() * 8, r.IntN(2)})
		case 7:
			s := off() - int64(r.IntN(100))
			ops = append(ops, []any{"GETRANGE", k, s, s + int64(r.IntN(2*storage.ChunkSize))})
		case 8:
			ops = append(ops, []any{"GETRANGE", k, -1 - r.IntN(storage.ChunkSize), -1 - r.IntN(50)})
		case 9:
			ops = append(ops, []any{"GETBIT", k, off()*8 + int64(r.IntN(8))})
		case 10:
			s := off() - 100
			ops = append(ops, []any{"BITCOUNT", k, s, s + int64(r.IntN(span))}, []any{"BITCOUNT", k})
		case 11:
			s := off()
			ops = append(ops, []any{"BITCOUNT", k, s * 8, s*8 + int64(r.IntN(80000)), "BIT"})
		case 12:
			s := off()
			ops = append(ops, []any{"BITPOS", k, r.IntN(2), s}, []any{"BITPOS", k, r.IntN(2), s, s + int64(r.IntN(span)), "BYTE"},
				[]any{"BITPOS", k, 1, s * 8, s*8 + int64(r.IntN(3000)), "BIT"})
		default:
			ops = append(ops, []any{"STRLEN", k}, []any{"GET", k})
		}
	}
	return ops
}

// strModel is what a string key holds, by Redis's rules, for chunkOps'
// commands.
type strModel map[string][]byte

// apply runs op on the model and returns the reply Redis gives.
func (m strModel) apply(op []any) any {
	arg := func(i int) string { return fmt.Sprint(op[i]) }
	num := func(i int) int64 { n, _ := strconv.ParseInt(arg(i), 10, 64); return n }
	v, ok := m[arg(1)]
	switch op[0] {
	case "SET":
		m[arg(1)] = []byte(arg(2))
		return "OK"
	case "SETRANGE":
		o, p := num(2), arg(3)
		if need := o + int64(len(p)); need > int64(len(v)) {
			v = append(v, make([]byte, need-int64(len(v)))...)
		}
		copy(v[o:], p)
		m[arg(1)] = v
		return int64(len(v))
	case "APPEND":
		v = append(v, arg(2)...)
		m[arg(1)] = v
		return int64(len(v))
	case "SETBIT":
		o := num(2)
		if need := o>>3 + 1; need > int64(len(v)) {
			v = append(v, make([]byte, need-int64(len(v)))...)
		}
		mask := byte(1) << (7 - o&7)
		old := int64(0)
		if v[o>>3]&mask != 0 {
			old = 1
		}
		if num(3) == 1 {
			v[o>>3] |= mask
		} else {
			v[o>>3] &^= mask
		}
		m[arg(1)] = v
		return old
	case "GETRANGE":
		s, e, n := num(2), num(3), int64(len(v))
		if s < 0 && e < 0 && s > e {
			return ""
		}
		if s < 0 {
			s += n
		}
		if e < 0 {
			e += n
		}
		s, e = max(s, 0), min(max(e, 0), n-1)
		if s > e || n == 0 {
			return ""
		}
		return string(v[s : e+1])
	case "GETBIT":
		o := num(2)
		if o>>3 < int64(len(v)) && v[o>>3]&(1<<(7-o&7)) != 0 {
			return int64(1)
		}
		return int64(0)
	case "STRLEN":
		return int64(len(v))
	case "GET":
		if !ok {
			return nil
		}
		return string(v)
	}
	return nil // not modelled: compared with redis-server only
}

// replyText renders a reply, or an error, for comparison.
func replyText(v any, err error) string {
	if err != nil {
		if err == redis.Nil {
			return "(nil)"
		}
		return "error: " + err.Error()
	}
	if s, ok := v.(string); ok && len(s) > 64 {
		return fmt.Sprintf("%d bytes %q...%q", len(s), s[:32], s[len(s)-32:])
	}
	return fmt.Sprintf("%v", v)
}

// TestChunkedStringsModel runs chunkOps on Shoal against strModel.
func TestChunkedStringsModel(t *testing.T) {
	c := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := testutil.Ctx(t)
	for seed := uint64(1); seed <= 3; seed++ {
		m := strModel{}
		c.FlushAll(ctx)
		for i, op := range chunkOps(seed, 400) {
			got, err := c.Do(ctx, op...).Result()
			want, wantErr := m.apply(op), error(nil)
			if want == nil && op[0] != "GET" {
				continue
			}
			if want == nil {
				wantErr = redis.Nil
			}
			if g, w := replyText(got, err), replyText(want, wantErr); g != w {
				t.Fatalf("seed %d op %d %v: Shoal %s, model %s", seed, i, op[:min(len(op), 3)], g, w)
			}
		}
		for k, v := range m {
			got, err := c.Get(ctx, k).Bytes()
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("seed %d: GET %s: %d bytes, %v; model %d bytes", seed, k, len(got), err, len(v))
			}
		}
	}
}

// TestChunkedStringsRedis runs chunkOps on Shoal and on redis-server 7.0.15
// side by side: every reply, BITCOUNT's and BITPOS's included, must be
// the same.
func TestChunkedStringsRedis(t *testing.T) {
	rc := startRedis(t, 2)
	sc := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := testutil.Ctx(t)
	for seed := uint64(10); seed <= 12; seed++ {
		rc.FlushAll(ctx)
		sc.FlushAll(ctx)
		for i, op := range chunkOps(seed, 400) {
			want := replyText(rc.Do(ctx, op...).Result())
			got := replyText(sc.Do(ctx, op...).Result())
			if got != want {
				t.Fatalf("seed %d op %d %v: Shoal %s, redis-server %s", seed, i, op[:min(len(op), 3)], got, want)
			}
		}
	}
}

// TestChunkedStringDumpRestore moves a chunked string to redis-server with
// DUMP and RESTORE and back, and copies and renames it.
func TestChunkedStringDumpRestore(t *testing.T) {
	rc := startRedis(t, 2)
	sc := testutil.Client(t, testutil.Start(t, nil), 2)
	ctx := testutil.Ctx(t)
	sc.SetRange(ctx, "k", 3*storage.ChunkSize+5, "end")
	sc.SetRange(ctx, "k", 10, "start")
	sc.SetBit(ctx, "k", 2*storage.ChunkSize*8+3, 1)
	want := sc.Get(ctx, "k").Val()
	payload, err := sc.Dump(ctx, "k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Restore(ctx, "k", 0, payload).Err(); err != nil {
		t.Fatalf("redis-server RESTORE of Shoal's DUMP: %v", err)
	}
	if got := rc.Get(ctx, "k").Val(); got != want {
		t.Fatalf("redis-server holds %d bytes, Shoal had %d", len(got), len(want))
	}
	back, err := rc.Dump(ctx, "k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Restore(ctx, "back", 0, back).Err(); err != nil {
		t.Fatalf("Shoal RESTORE of redis-server's DUMP: %v", err)
	}
	for _, k := range []string{"back", "k"} {
		if got := sc.Get(ctx, k).Val(); got != want {
			t.Fatalf("%s: %d bytes, want %d", k, len(got), len(want))
		}
	}
	if enc := sc.ObjectEncoding(ctx, "back").Val(); enc != "raw" {
		t.Errorf("OBJECT ENCODING = %q, want raw", enc)
	}
	sc.Copy(ctx, "k", "copy", 0, false)
	sc.Rename(ctx, "k", "renamed")
	sc.SetRange(ctx, "copy", 0, "changed") // the copy has its own chunks
	if got := sc.Get(ctx, "renamed").Val(); got != want {
		t.Fatalf("renamed: %d bytes, want %d", len(got), len(want))
	}
	if got := sc.GetRange(ctx, "copy", 0, 6).Val(); got != "changed" {
		t.Fatalf("copy starts %q", got)
	}
	if n := sc.Exists(ctx, "k").Val(); n != 0 {
		t.Fatalf("EXISTS k after RENAME = %d", n)
	}
}

// TestLargeSetWholeOrNothing overwrites a key with strings of several MiB,
// whose chunks are written ahead of their commit, while other clients
// read it: every GET, STRLEN and GETRANGE sees one whole value, never a
// mix of two or a part of one. Then DEL makes it vanish at once.
func TestLargeSetWholeOrNothing(t *testing.T) {
	s := testutil.Start(t, nil)
	w := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	const size = 5<<20 + 123
	values := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size+storage.ChunkSize)}
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := range 12 {
			if err := w.Set(ctx, "k", values[i%2], 0).Err(); err != nil {
				done <- err
				return
			}
		}
	}()
	r := testutil.Client(t, s, 3)
	for reading := true; reading; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			reading = false
		default:
		}
		got, err := r.Get(ctx, "k").Bytes()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
			t.Fatalf("GET read %d bytes starting %q, neither whole value", len(got), got[:min(len(got), 8)])
		}
		n, err := r.StrLen(ctx, "k").Result()
		if err != nil || (n != int64(len(values[0])) && n != int64(len(values[1]))) {
			t.Fatalf("STRLEN %d, %v", n, err)
		}
		// Both ends of one value, read by one command.
		ends, err := r.Do(ctx, "EVAL", "return redis.call('GETRANGE', KEYS[1], 0, 0) .. redis.call('GETRANGE', KEYS[1], -1, -1)", 1, "k").Text()
		if err != nil || (ends != "aa" && ends != "bb") {
			t.Fatalf("the ends of the value: %q, %v", ends, err)
		}
	}
	if got, err := r.Get(ctx, "k").Bytes(); err != nil || !bytes.Equal(got, values[1]) {
		t.Fatalf("the last SET's value: %d bytes, %v", len(got), err)
	}
	if n, err := w.Del(ctx, "k").Result(); err != nil || n != 1 {
		t.Fatalf("DEL: %d, %v", n, err)
	}
	if n, err := r.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS after DEL: %d, %v", n, err)
	}
}
