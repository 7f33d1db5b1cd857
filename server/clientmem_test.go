package server_test

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// clientFields reads the line of CLIENT LIST or INFO whose id is id (any
// line when id is 0) into its fields.
func clientFields(t *testing.T, reply string, id string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(reply, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		if f["id"] != "" && (id == "" || f["id"] == id) {
			return f
		}
	}
	t.Fatalf("no client %q in %q", id, reply)
	return nil
}

// rawClientID returns the ID of r's connection (CLIENT ID).
func rawClientID(r *testutil.Raw) string {
	r.Send("CLIENT ID\r\n")
	reply, _ := r.ReadReply()
	return strings.TrimSpace(strings.TrimPrefix(reply, ":"))
}

func fieldInt(t *testing.T, f map[string]string, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(f[name], 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, f[name], err)
	}
	return n
}

// clientMemSteps drives one server: a client's own view of its query
// buffer and arguments, of a pipeline's unsent reply, a client in MULTI,
// one in the middle of a request, and a subscriber that does not read.
// It returns the fields Redis and Shoal must agree on, and checks the
// others' bounds.
func clientMemSteps(t *testing.T, addr string) []string {
	var got []string
	note := func(what string, f map[string]string, names ...string) {
		for _, n := range names {
			got = append(got, what+" "+n+"="+f[n])
		}
	}
	self := testutil.Dial(t, addr)
	selfID := rawClientID(self)
	info := func() map[string]string {
		self.Send("*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n")
		r, err := self.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		return clientFields(t, r, selfID)
	}
	f := info()
	note("self", f, "qbuf", "argv-mem", "multi-mem", "obl", "oll", "omem")
	if fieldInt(t, f, "qbuf-free") == 0 || fieldInt(t, f, "tot-mem") < fieldInt(t, f, "qbuf")+fieldInt(t, f, "qbuf-free") {
		t.Errorf("%s: CLIENT INFO %v", addr, f)
	}

	// A pipeline: CLIENT INFO finds the bytes of the whole read in the
	// query buffer and PING's reply not yet sent.
	self.Send("*1\r\n$4\r\nPING\r\n*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n*1\r\n$4\r\nPING\r\n")
	self.ReadReply()
	r, _ := self.ReadReply()
	self.ReadReply()
	note("pipelined", clientFields(t, r, selfID), "qbuf", "argv-mem", "obl", "oll", "omem")

	list := func(id string) map[string]string {
		self.Send("CLIENT LIST\r\n")
		r, err := self.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		return clientFields(t, r, id)
	}
	idOf := rawClientID

	multi := testutil.Dial(t, addr)
	multiID := idOf(multi)
	for _, cmd := range []string{"MULTI", "SET key value", "SET k2 v2"} {
		multi.Send(cmd + "\r\n")
		multi.ReadReply()
	}
	note("multi", list(multiID), "qbuf", "argv-mem", "multi-mem", "obl")

	partial := testutil.Dial(t, addr)
	partialID := idOf(partial)
	partial.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
	var pf map[string]string
	eventually(t, "the partial request read", func() bool {
		pf = list(partialID)
		return pf["argv-mem"] != "0"
	})
	note("partial", pf, "qbuf", "argv-mem", "multi-mem", "obl", "oll")

	// A subscriber that reads nothing while 16 messages of 1 MiB are
	// published: what the socket does not take waits in its output.
	sub := testutil.Dial(t, addr)
	subID := idOf(sub)
	sub.Send("SUBSCRIBE big\r\n")
	sub.ReadReply()
	payload := strings.Repeat("x", 1<<20)
	pub := testutil.Dial(t, addr)
	for range 16 {
		pub.Send("*3\r\n$7\r\nPUBLISH\r\n$3\r\nbig\r\n$" + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n")
		pub.ReadReply()
	}
	var sf map[string]string
	eventually(t, "the subscriber's output", func() bool {
		sf = list(subID)
		return sf["omem"] != "0"
	})
	if oll, omem, tot := fieldInt(t, sf, "oll"), fieldInt(t, sf, "omem"), fieldInt(t, sf, "tot-mem"); oll == 0 || omem < oll*16384 || omem > 16<<20+16<<10*oll || tot < omem {
		t.Errorf("%s: a subscriber's output: %v", addr, sf)
	}
	return got
}

// TestClientListMemory: CLIENT LIST and CLIENT INFO report a client's
// query buffer, arguments, queued MULTI commands and unsent replies as
// redis-server 7.0.15 does (the allocations Redis adds to tot-mem and
// qbuf-free are its own).
func TestClientListMemory(t *testing.T) {
	r := testutil.StartRedisServer(t, t.TempDir())
	s := testutil.Start(t, nil)
	want := clientMemSteps(t, r.Addr())
	got := clientMemSteps(t, s.Addr())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Shoal:\n%s\nredis-server 7.0.15:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMaxmemoryClientsAsRedis: with maxmemory-clients 1mb, a client
// whose request grows past it is closed and counted in evicted_clients,
// and one set CLIENT NO-EVICT on is spared, on Shoal as on redis-server
// 7.0.15.
func TestMaxmemoryClientsAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	run := func(addr string) string {
		rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
		defer rc.Close()
		// NB: spared too, or a NO-EVICT client past the limit evicts it.
		c := rc.Conn()
		defer c.Close()
		if err := c.Do(ctx, "CLIENT", "NO-EVICT", "on").Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ConfigSet(ctx, "maxmemory-clients", "1mb").Err(); err != nil {
			t.Fatal(err)
		}
		// closed: the client saw its socket closed, and CLIENT LIST
		// lists c alone (Redis frees an evicted client at once).
		closed := func() string {
			return "closed, clients listed: " + strconv.Itoa(strings.Count(c.ClientList(ctx).Val(), "\n"))
		}
		big := func(noEvict bool) string {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			rd := bufio.NewReader(nc)
			if noEvict {
				nc.Write([]byte("CLIENT NO-EVICT on\r\n"))
				if l, err := rd.ReadString('\n'); err != nil || l != "+OK\r\n" {
					t.Fatalf("CLIENT NO-EVICT: %q %v", l, err)
				}
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := nc.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000000\r\n")); err != nil {
				t.Fatal(err)
			}
			chunk := bytes.Repeat([]byte("x"), 100000)
			for i := 0; i < 30; i++ {
				if _, err := nc.Write(chunk); err != nil {
					return closed()
				}
				time.Sleep(5 * time.Millisecond)
			}
			// NB: the server's close may reach the client after its last
			// write; a request still open is then answered nothing.
			nc.Write(bytes.Repeat([]byte("x"), 5000000-30*100000))
			nc.Write([]byte("\r\n"))
			if l, err := rd.ReadString('\n'); err != nil {
				return closed()
			} else {
				return "answered " + strings.TrimSpace(l)
			}
		}
		out := "plain client: " + big(false) + "; NO-EVICT client: " + big(true)
		out += "; evicted_clients:" + strings.TrimSpace(strings.Split(strings.Split(c.Info(ctx, "stats").Val(), "evicted_clients:")[1], "\n")[0])
		c.ConfigSet(ctx, "maxmemory-clients", "0")
		return out
	}
	want := run(testutil.StartRedisServer(t, t.TempDir()).Addr())
	if got := run(testutil.Start(t, nil).Addr()); got != want {
		t.Errorf("shoal: %s\nredis: %s", got, want)
	}
}
