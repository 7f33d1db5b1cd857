package commands_test

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/resp"
	"github.com/shoaldb/shoal/storage"
)

// The expected texts below follow Redis 7.0.15's cluster.c:
// clusterGenNodeDescription for NODES and REPLICAS, clusterReplyMultiBulkSlots
// and addNodeToNodeReply for SLOTS, clusterReplyShards and
// addNodeDetailsToShardReply for SHARDS, genClusterInfoString for INFO.

const (
	idMaster = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
	idSusp   = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
	idFailed = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"
)

// threeNodes is one shard seen from its primary: the primary owns every
// slot; one replica is suspected, the other failed. Nodes are in id order.
func threeNodes() cluster.View {
	return cluster.View{
		Myself: idMaster, OK: true, CurrentEpoch: 5, MyEpoch: 3,
		Nodes: []cluster.NodeView{
			{ID: idFailed, IP: "127.0.0.1", Port: 7002, BusPort: 17002, PrimaryID: idMaster, Health: cluster.Failed,
				Epoch: 2, Offset: 500, PingSent: 1700000000200, PongRecv: 1699999990000},
			{ID: idSusp, IP: "127.0.0.1", Port: 7001, BusPort: 17001, PrimaryID: idMaster, Health: cluster.Suspect,
				Epoch: 3, Offset: 990, PingSent: 1700000000100, PongRecv: 1700000000000, Linked: true},
			{ID: idMaster, IP: "127.0.0.1", Port: 7000, BusPort: 17000, Myself: true, Primary: true,
				Epoch: 3, Offset: 1000, Slots: []cluster.SlotRange{{Start: 0, End: 16383}}},
		},
	}
}

const threeNodesText = idFailed + " 127.0.0.1:7002@17002 slave,fail " + idMaster + " 1700000000200 1699999990000 3 disconnected\n" +
	idSusp + " 127.0.0.1:7001@17001 slave,fail? " + idMaster + " 1700000000100 1700000000000 3 connected\n" +
	idMaster + " 127.0.0.1:7000@17000 myself,master - 0 0 3 connected 0-16383\n"

func TestClusterNodesText(t *testing.T) {
	v := threeNodes()
	if got := commands.ClusterNodes(&v); got != threeNodesText {
		t.Fatalf("CLUSTER NODES:\n%s\nwant:\n%s", got, threeNodesText)
	}

	// Seen from the suspected replica: the primary is linked and myself
	// moves. Split and single-slot ranges print as Redis's bitmap runs.
	v.Myself = idSusp
	v.Nodes[1].Myself, v.Nodes[2].Myself = true, false
	v.Nodes[2].Linked = true
	v.Nodes[2].PingSent, v.Nodes[2].PongRecv = 1700000000300, 1700000000301
	v.Nodes[2].Slots = []cluster.SlotRange{{Start: 100, End: 200}, {Start: 0, End: 99}, {Start: 300, End: 300}, {Start: 16383, End: 16383}}
	want := idFailed + " 127.0.0.1:7002@17002 slave,fail " + idMaster + " 1700000000200 1699999990000 3 disconnected\n" +
		idSusp + " 127.0.0.1:7001@17001 myself,slave,fail? " + idMaster + " 1700000000100 1700000000000 3 connected\n" +
		idMaster + " 127.0.0.1:7000@17000 master - 1700000000300 1700000000301 3 connected 0-200 300 16383\n"
	if got := commands.ClusterNodes(&v); got != want {
		t.Fatalf("CLUSTER NODES from a replica:\n%s\nwant:\n%s", got, want)
	}

	// An empty primary and a member with no address.
	v = cluster.View{Myself: "a", Nodes: []cluster.NodeView{
		{ID: "a", IP: "10.0.0.1", Port: 6379, BusPort: 16379, Myself: true, Primary: true, Epoch: 0},
		{ID: "b", Primary: true, Health: cluster.Failed},
	}}
	want = "a 10.0.0.1:6379@16379 myself,master - 0 0 0 connected\n" +
		"b :0@0 master,fail,noaddr - 0 0 0 disconnected\n"
	if got := commands.ClusterNodes(&v); got != want {
		t.Fatalf("CLUSTER NODES:\n%q\nwant:\n%q", got, want)
	}
}

// Expected RESP, built by meaning so RESP2 and RESP3 share one spec.
type respSpec struct {
	proto int
	b     strings.Builder
}

func (s *respSpec) arr(n int) *respSpec { fmt.Fprintf(&s.b, "*%d\r\n", n); return s }
func (s *respSpec) num(n int64) *respSpec {
	fmt.Fprintf(&s.b, ":%d\r\n", n)
	return s
}
func (s *respSpec) str(v string) *respSpec {
	fmt.Fprintf(&s.b, "$%d\r\n%s\r\n", len(v), v)
	return s
}
func (s *respSpec) mp(n int) *respSpec {
	if s.proto == 3 {
		fmt.Fprintf(&s.b, "%%%d\r\n", n)
	} else {
		fmt.Fprintf(&s.b, "*%d\r\n", 2*n)
	}
	return s
}

func render(proto int, f func(w *resp.Writer)) string {
	var w resp.Writer
	w.SetProto(proto)
	f(&w)
	return string(w.Bytes())
}

func TestClusterSlotsReply(t *testing.T) {
	for _, proto := range []int{2, 3} {
		v := threeNodes()
		// The failed replica is left out, the suspected one stays.
		want := (&respSpec{proto: proto}).arr(1).
			arr(4).num(0).num(16383).
			arr(4).str("127.0.0.1").num(7000).str(idMaster).mp(0).
			arr(4).str("127.0.0.1").num(7001).str(idSusp).mp(0)
		if got := render(proto, func(w *resp.Writer) { commands.WriteClusterSlots(w, &v) }); got != want.b.String() {
			t.Fatalf("RESP%d CLUSTER SLOTS:\n%q\nwant:\n%q", proto, got, want.b.String())
		}

		// A replica that has replicated nothing is left out too; runs of
		// one owner merge, and each run is one entry.
		v.Nodes[1].Offset = 0
		v.Nodes[2].Slots = []cluster.SlotRange{{Start: 0, End: 99}, {Start: 100, End: 200}, {Start: 300, End: 300}}
		want = (&respSpec{proto: proto}).arr(2).
			arr(3).num(0).num(200).arr(4).str("127.0.0.1").num(7000).str(idMaster).mp(0).
			arr(3).num(300).num(300).arr(4).str("127.0.0.1").num(7000).str(idMaster).mp(0)
		if got := render(proto, func(w *resp.Writer) { commands.WriteClusterSlots(w, &v) }); got != want.b.String() {
			t.Fatalf("RESP%d CLUSTER SLOTS:\n%q\nwant:\n%q", proto, got, want.b.String())
		}
	}
}

func TestClusterShardsReply(t *testing.T) {
	for _, proto := range []int{2, 3} {
		v := threeNodes()
		want := (&respSpec{proto: proto}).arr(1).mp(2).
			str("slots").arr(2).num(0).num(16383).
			str("nodes").arr(3)
		node := func(id string, port int64, role string, offset int64, health string) {
			want.mp(7).str("id").str(id).str("port").num(port).str("ip").str("127.0.0.1").
				str("endpoint").str("127.0.0.1").str("role").str(role).
				str("replication-offset").num(offset).str("health").str(health)
		}
		node(idMaster, 7000, "master", 1000, "online")
		node(idFailed, 7002, "replica", 500, "fail")
		node(idSusp, 7001, "replica", 990, "online")
		if got := render(proto, func(w *resp.Writer) { commands.WriteClusterShards(w, &v) }); got != want.b.String() {
			t.Fatalf("RESP%d CLUSTER SHARDS:\n%q\nwant:\n%q", proto, got, want.b.String())
		}
	}

	// A primary without slots is a shard with no slots; a replica at offset
	// 0 is loading.
	v := cluster.View{Myself: "a", Nodes: []cluster.NodeView{
		{ID: "a", IP: "10.0.0.1", Port: 6379, Myself: true, Primary: true},
		{ID: "b", IP: "10.0.0.2", Port: 6379, PrimaryID: "a"},
	}}
	want := (&respSpec{proto: 2}).arr(1).mp(2).str("slots").arr(0).str("nodes").arr(2)
	want.mp(7).str("id").str("a").str("port").num(6379).str("ip").str("10.0.0.1").str("endpoint").str("10.0.0.1").
		str("role").str("master").str("replication-offset").num(0).str("health").str("online")
	want.mp(7).str("id").str("b").str("port").num(6379).str("ip").str("10.0.0.2").str("endpoint").str("10.0.0.2").
		str("role").str("replica").str("replication-offset").num(0).str("health").str("loading")
	if got := render(2, func(w *resp.Writer) { commands.WriteClusterShards(w, &v) }); got != want.b.String() {
		t.Fatalf("CLUSTER SHARDS:\n%q\nwant:\n%q", got, want.b.String())
	}
}

func TestClusterInfoText(t *testing.T) {
	info := func(state string, ok, pfail, fail int) string {
		return "cluster_state:" + state + "\r\n" +
			"cluster_slots_assigned:16384\r\n" +
			"cluster_slots_ok:" + strconv.Itoa(ok) + "\r\n" +
			"cluster_slots_pfail:" + strconv.Itoa(pfail) + "\r\n" +
			"cluster_slots_fail:" + strconv.Itoa(fail) + "\r\n" +
			"cluster_known_nodes:3\r\n" +
			"cluster_size:1\r\n" +
			"cluster_current_epoch:5\r\n" +
			"cluster_my_epoch:3\r\n" +
			"cluster_stats_messages_sent:0\r\n" +
			"cluster_stats_messages_received:0\r\n" +
			"total_cluster_links_buffer_limit_exceeded:0\r\n"
	}
	v := threeNodes()
	if got, want := commands.ClusterInfo(&v), info("ok", 16384, 0, 0); got != want {
		t.Fatalf("CLUSTER INFO:\n%s\nwant:\n%s", got, want)
	}
	v.OK = false
	v.Nodes[2].Health = cluster.Suspect
	if got, want := commands.ClusterInfo(&v), info("fail", 0, 16384, 0); got != want {
		t.Fatalf("CLUSTER INFO, primary suspected:\n%s\nwant:\n%s", got, want)
	}
	v.Nodes[2].Health = cluster.Failed
	if got, want := commands.ClusterInfo(&v), info("fail", 0, 0, 16384); got != want {
		t.Fatalf("CLUSTER INFO, primary failed:\n%s\nwant:\n%s", got, want)
	}
}

// fakeCluster is a Cluster whose view is fixed and whose actions are
// recorded.
type fakeCluster struct {
	view  cluster.View
	err   error // returned by every action
	calls []string
}

func (f *fakeCluster) View() cluster.View      { return f.view }
func (f *fakeCluster) Routes() *cluster.Routes { return nil }
func (f *fakeCluster) Meet(host string, port, busPort int) error {
	f.calls = append(f.calls, fmt.Sprintf("meet %s %d %d", host, port, busPort))
	return f.err
}
func (f *fakeCluster) Forget(id string) error {
	f.calls = append(f.calls, "forget "+id)
	return f.err
}
func (f *fakeCluster) Replicate(id string) error {
	f.calls = append(f.calls, "replicate "+id)
	return f.err
}
func (f *fakeCluster) Failover(mode string) error {
	f.calls = append(f.calls, "failover "+mode)
	return f.err
}
func (f *fakeCluster) Reset(hard bool) error {
	f.calls = append(f.calls, fmt.Sprintf("reset hard=%v", hard))
	return f.err
}

// handlerHarness runs handlers of the default table directly on a store,
// as dispatch would after resolving the subcommand and checking arity.
type handlerHarness struct {
	t     *testing.T
	tab   *commands.Table
	ctx   commands.Ctx
	out   resp.Writer
	fake  *fakeCluster
	store *storage.Store
	now   time.Time // the store's clock
}

func newHarness(t *testing.T, fake *fakeCluster) *handlerHarness {
	h := &handlerHarness{t: t, tab: commands.Default(), fake: fake, now: time.Unix(1700000000, 0)}
	st, err := storage.Open(storage.Options{Dir: t.TempDir(), ExpireHz: -1, Now: func() time.Time { return h.now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.store = st
	h.ctx = commands.Ctx{Out: &h.out, Tx: st.NewTx(), Store: st, Client: &commands.Client{}}
	if fake != nil {
		h.ctx.Cluster = fake
	}
	return h
}

// do runs one command and returns its reply, or its error's text.
func (h *handlerHarness) do(args ...string) string {
	h.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	cmd := h.tab.Lookup(argv[0])
	if cmd == nil {
		h.t.Fatalf("%q: no such command", args)
	}
	if len(cmd.Subcommands) > 0 {
		if cmd = cmd.Sub(argv[1]); cmd == nil {
			h.t.Fatalf("%q: no such subcommand", args)
		}
	}
	if !cmd.ArityOK(len(argv)) {
		h.t.Fatalf("%q: arity %d", args, cmd.Arity)
	}
	h.out.Reset()
	h.ctx.Args, h.ctx.Cmd = argv, cmd
	err := cmd.Handler(&h.ctx)
	if cerr := h.ctx.Tx.Commit(); cerr != nil {
		h.t.Fatal(cerr)
	}
	if err != nil {
		if h.out.Len() != 0 {
			h.t.Fatalf("%q: wrote %q and returned %v", args, h.out.Bytes(), err)
		}
		return "-" + err.Error()
	}
	return string(h.out.Bytes())
}

func (h *handlerHarness) want(want string, args ...string) {
	h.t.Helper()
	if got := h.do(args...); got != want {
		h.t.Fatalf("%q = %q, want %q", args, got, want)
	}
}

func TestClusterHandlers(t *testing.T) {
	fake := &fakeCluster{view: threeNodes()}
	h := newHarness(t, fake)

	h.want("$40\r\n"+idMaster+"\r\n", "cluster", "myid")
	h.want(":12182\r\n", "cluster", "keyslot", "foo")
	h.want(":3443\r\n", "cluster", "keyslot", "{user1000}.following")
	h.want(fmt.Sprintf("$%d\r\n%s\r\n", len(threeNodesText), threeNodesText), "cluster", "nodes")
	h.out.SetProto(3)
	h.want(fmt.Sprintf("=%d\r\ntxt:%s\r\n", len(threeNodesText)+4, threeNodesText), "cluster", "nodes")
	if got := h.do("cluster", "info"); !strings.HasPrefix(got, "=") || !strings.Contains(got, "txt:cluster_state:ok\r\n") {
		t.Fatalf("RESP3 CLUSTER INFO = %q", got)
	}
	h.out.SetProto(2)

	// REPLICAS lists NODES lines without their newline.
	lines := strings.Split(strings.TrimSuffix(threeNodesText, "\n"), "\n")
	h.want(fmt.Sprintf("*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(lines[0]), lines[0], len(lines[1]), lines[1]), "cluster", "replicas", idMaster)
	h.want(fmt.Sprintf("*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(lines[0]), lines[0], len(lines[1]), lines[1]), "cluster", "slaves", idMaster)
	h.want("-ERR Unknown node nosuch", "cluster", "replicas", "nosuch")
	h.want("-ERR The specified node is not a master", "cluster", "replicas", idSusp)

	// Keys by slot: database 0, live keys only.
	for _, k := range []string{"{user1000}.following", "{user1000}.followers", "foo", "bar"} {
		h.want("+OK\r\n", "set", k, "v")
	}
	h.want("+OK\r\n", "set", "{user1000}.gone", "v", "px", "1000")
	h.ctx.Client.DB = 1
	h.want("+OK\r\n", "set", "{user1000}.db1", "v")
	h.ctx.Client.DB = 0
	h.now = h.now.Add(2 * time.Second) // {user1000}.gone expired and is not removed yet
	h.want(":2\r\n", "cluster", "countkeysinslot", "3443")
	h.want(":1\r\n", "cluster", "countkeysinslot", "12182")
	h.want(":0\r\n", "cluster", "countkeysinslot", "0")
	h.want(":0\r\n", "cluster", "countkeysinslot", "16383")
	h.want("-ERR Invalid slot", "cluster", "countkeysinslot", "16384")
	h.want("-ERR Invalid slot", "cluster", "countkeysinslot", "-1")
	h.want("-ERR value is not an integer or out of range", "cluster", "countkeysinslot", "x")
	h.want("*2\r\n$20\r\n{user1000}.followers\r\n$20\r\n{user1000}.following\r\n", "cluster", "getkeysinslot", "3443", "10")
	h.want("*1\r\n$20\r\n{user1000}.followers\r\n", "cluster", "getkeysinslot", "3443", "1")
	h.want("*0\r\n", "cluster", "getkeysinslot", "3443", "0")
	h.want("*0\r\n", "cluster", "getkeysinslot", "0", "10")
	h.want("-ERR Invalid slot or number of keys", "cluster", "getkeysinslot", "3443", "-1")
	h.want("-ERR Invalid slot or number of keys", "cluster", "getkeysinslot", "16384", "1")
	h.want("-ERR value is not an integer or out of range", "cluster", "getkeysinslot", "x", "1")
	h.want("-ERR value is not an integer or out of range", "cluster", "getkeysinslot", "1", "x")

	// READONLY, READWRITE and ASKING set the connection's flags.
	h.want("+OK\r\n", "readonly")
	if !h.ctx.Client.ReadOnlyCluster {
		t.Fatal("READONLY did not set ReadOnlyCluster")
	}
	h.want("+OK\r\n", "readwrite")
	if h.ctx.Client.ReadOnlyCluster {
		t.Fatal("READWRITE did not clear ReadOnlyCluster")
	}
	h.want("+OK\r\n", "asking")
	if !h.ctx.Client.Asking {
		t.Fatal("ASKING did not set Asking")
	}

	if help := h.do("cluster", "help"); !strings.HasPrefix(help, "*") || !strings.Contains(help, "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:") {
		t.Fatalf("CLUSTER HELP = %q", help)
	}
}

func TestClusterAdminHandlers(t *testing.T) {
	fake := &fakeCluster{view: threeNodes()}
	h := newHarness(t, fake)

	h.want("+OK\r\n", "cluster", "meet", "127.0.0.1", "7003")
	h.want("+OK\r\n", "cluster", "meet", "::1", "7004", "20000")
	h.want("-ERR Invalid TCP base port specified: x", "cluster", "meet", "127.0.0.1", "x")
	h.want("-ERR Invalid TCP bus port specified: y", "cluster", "meet", "127.0.0.1", "7003", "y")
	h.want("-ERR Invalid node address specified: localhost:7003", "cluster", "meet", "localhost", "7003")
	h.want("-ERR Invalid node address specified: 127.0.0.1:0", "cluster", "meet", "127.0.0.1", "0")
	h.want("-ERR Invalid node address specified: 127.0.0.1:65536", "cluster", "meet", "127.0.0.1", "65536")
	h.want("-ERR Invalid node address specified: 127.0.0.1:60000", "cluster", "meet", "127.0.0.1", "60000") // bus port 70000
	h.want("-ERR unknown subcommand or wrong number of arguments for 'MEET'. Try CLUSTER HELP.", "cluster", "MEET", "127.0.0.1", "1", "2", "3")

	h.want("+OK\r\n", "cluster", "forget", idSusp)
	h.want("+OK\r\n", "cluster", "replicate", idMaster)
	h.want("+OK\r\n", "cluster", "failover")
	h.want("+OK\r\n", "cluster", "failover", "FORCE")
	h.want("+OK\r\n", "cluster", "failover", "takeover")
	h.want("-ERR syntax error", "cluster", "failover", "now")
	h.want("-ERR unknown subcommand or wrong number of arguments for 'failover'. Try CLUSTER HELP.", "cluster", "failover", "force", "now")
	h.want("+OK\r\n", "cluster", "reset")
	h.want("+OK\r\n", "cluster", "reset", "soft")
	h.want("+OK\r\n", "cluster", "reset", "HARD")
	h.want("-ERR syntax error", "cluster", "reset", "medium")
	h.want("-ERR unknown subcommand or wrong number of arguments for 'reset'. Try CLUSTER HELP.", "cluster", "reset", "hard", "soft")
	wantCalls := []string{"meet 127.0.0.1 7003 17003", "meet ::1 7004 20000", "forget " + idSusp, "replicate " + idMaster,
		"failover ", "failover force", "failover takeover", "reset hard=false", "reset hard=false", "reset hard=true"}
	if !slices.Equal(fake.calls, wantCalls) {
		t.Fatalf("calls %q, want %q", fake.calls, wantCalls)
	}

	// A primary holding keys refuses RESET; a replica drops them.
	h.want("+OK\r\n", "set", "k", "v")
	fake.calls = nil
	h.want("-ERR CLUSTER RESET can't be called with master nodes containing keys", "cluster", "reset")
	fake.view.Myself = idSusp
	h.want("+OK\r\n", "cluster", "reset")
	if !slices.Equal(fake.calls, []string{"reset hard=false"}) {
		t.Fatalf("calls %q", fake.calls)
	}

	// The membership's errors pass through unchanged.
	fake.err = &cluster.Error{Code: "ERR", Msg: "Unknown node nosuch"}
	for _, args := range [][]string{{"cluster", "forget", "nosuch"}, {"cluster", "replicate", "nosuch"},
		{"cluster", "failover"}, {"cluster", "meet", "10.0.0.9", "6379"}} {
		h.want("-ERR Unknown node nosuch", args...)
	}
}

// Without cluster-enabled, Redis 7.0 refuses every CLUSTER subcommand
// (clusterCommand checks cluster_enabled first, so HELP and KEYSLOT too),
// READONLY, READWRITE and ASKING; unknown subcommands and wrong arities
// are refused by dispatch before that.
func TestClusterDisabled(t *testing.T) {
	h := newHarness(t, nil)
	for _, args := range [][]string{{"cluster", "info"}, {"cluster", "keyslot", "foo"}, {"cluster", "help"},
		{"cluster", "countkeysinslot", "0"}, {"readonly"}, {"asking"}} {
		h.want("-ERR This instance has cluster support disabled", args...)
	}

	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		for _, args := range [][]any{
			{"cluster", "info"}, {"cluster", "nodes"}, {"cluster", "slots"}, {"cluster", "shards"},
			{"cluster", "myid"}, {"cluster", "keyslot", "foo"}, {"cluster", "countkeysinslot", "0"},
			{"cluster", "getkeysinslot", "0", "1"}, {"cluster", "meet", "127.0.0.1", "7000"},
			{"cluster", "forget", "x"}, {"cluster", "replicate", "x"}, {"cluster", "failover"},
			{"cluster", "reset", "hard"}, {"cluster", "replicas", "x"}, {"cluster", "slaves", "x"},
			{"CLUSTER", "HELP"}, {"readonly"}, {"readwrite"}, {"asking"},
		} {
			wantErr(t, c.Do(ctx, args...).Err(), "ERR This instance has cluster support disabled")
		}
		wantErr(t, c.Do(ctx, "cluster", "nosuch").Err(), "ERR unknown subcommand 'nosuch'. Try CLUSTER HELP.")
		wantErr(t, c.Do(ctx, "cluster", "info", "x").Err(), "ERR wrong number of arguments for 'cluster|info' command")
		wantErr(t, c.Do(ctx, "cluster", "keyslot").Err(), "ERR wrong number of arguments for 'cluster|keyslot' command")
		wantErr(t, c.Do(ctx, "cluster").Err(), "ERR wrong number of arguments for 'cluster' command")
		wantErr(t, c.Do(ctx, "readonly", "x").Err(), "ERR wrong number of arguments for 'readonly' command")
		// Plain commands are served as ever.
		if err := c.Set(ctx, "foo", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Get(ctx, "foo").Result(); err != nil || v != "v" {
			t.Fatalf("GET foo = %q, %v", v, err)
		}
	})
}

// In cluster mode Redis 7.0's SORT refuses BY with a pattern and GET,
// whose keys may live on other nodes (sort.c's sortCommandGeneric).
func TestSortPatternsInClusterMode(t *testing.T) {
	h := newHarness(t, &fakeCluster{view: threeNodes()})
	h.want(":3\r\n", "rpush", "l", "2", "1", "3")
	h.want("-ERR BY option of SORT denied in Cluster mode.", "sort", "l", "by", "w_*")
	h.want("-ERR GET option of SORT denied in Cluster mode.", "sort", "l", "get", "#")
	h.want("*3\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n3\r\n", "sort", "l", "by", "nosort")
	h.want("*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n", "sort_ro", "l")
}
