package commands_test

import (
	"strings"
	"testing"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/commands"
)

// singleShard returns routes where one shard owns every slot; unowned
// lists slots left without a shard.
func singleShard(s cluster.ShardRoute, unowned ...int) *cluster.Routes {
	r := &cluster.Routes{Shards: []cluster.ShardRoute{s}, Owner: make([]int16, cluster.Slots)}
	for _, slot := range unowned {
		r.Owner[slot] = -1
	}
	return r
}

const primaryAddr = "10.0.0.1:7000"

var (
	localPrimary = cluster.ShardRoute{PrimaryID: "p", PrimaryAddr: primaryAddr, Local: true}
	myPrimary    = cluster.ShardRoute{PrimaryID: "p", PrimaryAddr: primaryAddr, Replica: true}
	otherShard   = cluster.ShardRoute{PrimaryID: "p", PrimaryAddr: primaryAddr}
	lostPrimary  = cluster.ShardRoute{PrimaryID: "p", Replica: true}
)

func TestRedirect(t *testing.T) {
	tab := commands.Default()
	fooSlot := cluster.KeySlot([]byte("foo")) // 12182
	for _, tc := range []struct {
		name     string
		routes   *cluster.Routes
		readonly bool
		args     string
		want     string // "" to serve here
	}{
		{"primary serves reads", singleShard(localPrimary), false, "GET foo", ""},
		{"primary serves writes", singleShard(localPrimary), false, "SET foo v", ""},
		{"primary serves READONLY clients", singleShard(localPrimary), true, "SET foo v", ""},
		{"replica redirects reads", singleShard(myPrimary), false, "GET foo", "MOVED 12182 " + primaryAddr},
		{"replica serves READONLY reads", singleShard(myPrimary), true, "GET foo", ""},
		{"replica serves READONLY multi-key reads", singleShard(myPrimary), true, "MGET {u}a {u}b", ""},
		{"replica redirects READONLY writes", singleShard(myPrimary), true, "SET foo v", "MOVED 12182 " + primaryAddr},
		{"replica redirects READONLY deletes", singleShard(myPrimary), true, "DEL foo", "MOVED 12182 " + primaryAddr},
		{"another shard's node redirects READONLY reads", singleShard(otherShard), true, "GET foo", "MOVED 12182 " + primaryAddr},
		{"another shard's node redirects writes", singleShard(otherShard), false, "SET bar v", "MOVED 5061 " + primaryAddr},
		{"no known primary", singleShard(lostPrimary), false, "GET foo", "CLUSTERDOWN The cluster is down"},
		{"no known primary, READONLY read", singleShard(lostPrimary), true, "GET foo", ""},
		{"keys in two slots", singleShard(localPrimary), false, "MGET foo bar", "CROSSSLOT Keys in request don't hash to the same slot"},
		{"keys in two slots on a replica", singleShard(myPrimary), true, "MGET foo bar", "CROSSSLOT Keys in request don't hash to the same slot"},
		{"hash tags share a slot", singleShard(localPrimary), false, "MGET {user1000}.following {user1000}.followers", ""},
		{"hash tags of step-2 keys", singleShard(localPrimary), false, "MSET {u}a 1 {u}b 2", ""},
		{"values are not keys", singleShard(localPrimary), false, "MSET {u}a foo {u}b bar", ""},
		{"step-2 keys in two slots", singleShard(localPrimary), false, "MSET foo 1 bar 2", "CROSSSLOT Keys in request don't hash to the same slot"},
		{"movable keys share a slot", singleShard(localPrimary), false, "ZUNIONSTORE {t}d 2 {t}a {t}b", ""},
		{"movable keys in two slots", singleShard(localPrimary), false, "ZUNIONSTORE {t}d 2 {t}a b", "CROSSSLOT Keys in request don't hash to the same slot"},
		{"no keys", singleShard(myPrimary), false, "PING", ""},
		{"no keys, no routes", nil, false, "DBSIZE", ""},
		{"no routes", nil, false, "GET foo", "CLUSTERDOWN Hash slot not served"},
		{"unowned slot", singleShard(localPrimary, fooSlot), false, "GET foo", "CLUSTERDOWN Hash slot not served"},
		{"unowned first key wins over CROSSSLOT", singleShard(localPrimary, fooSlot), false, "MGET foo bar", "CLUSTERDOWN Hash slot not served"},
		{"CROSSSLOT wins over a later unowned key", singleShard(localPrimary, fooSlot), false, "MGET bar foo", "CROSSSLOT Keys in request don't hash to the same slot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := splitArgs(tc.args)
			cmd := tab.Lookup(args[0])
			if cmd == nil {
				t.Fatalf("%s: no such command", tc.args)
			}
			cl := &commands.Client{ReadOnlyCluster: tc.readonly}
			err := commands.Redirect(cmd, args, tc.routes, cl)
			got := ""
			if err != nil {
				got = err.Error()
				if !commands.IsReplyError(err) {
					t.Fatalf("%s: %v is not a reply error", tc.args, err)
				}
			}
			if got != tc.want {
				t.Fatalf("Redirect(%s) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestHasKeys(t *testing.T) {
	tab := commands.Default()
	for name, want := range map[string]bool{"get": true, "mset": true, "zunionstore": true, "lmpop": true,
		"ping": false, "dbsize": false, "cluster": false, "readonly": false} {
		if got := commands.HasKeys(tab.Lookup([]byte(name))); got != want {
			t.Errorf("HasKeys(%s) = %v, want %v", name, got, want)
		}
	}
}

// EXEC routes the queued commands together: their keys share one slot and
// a READONLY replica serves the transaction only if none writes.
func TestRouteQueryTransaction(t *testing.T) {
	tab := commands.Default()
	run := func(r *cluster.Routes, readonly bool, cmds ...string) string {
		var q commands.RouteQuery
		for _, s := range cmds {
			args := splitArgs(s)
			if err := q.Add(tab.Lookup(args[0]), args, r); err != nil {
				return err.Error()
			}
		}
		if err := q.Decide(&commands.Client{ReadOnlyCluster: readonly}); err != nil {
			return err.Error()
		}
		return ""
	}
	if got := run(singleShard(myPrimary), true, "GET {a}x", "GET {a}y"); got != "" {
		t.Errorf("two reads on a READONLY replica: %q", got)
	}
	if got := run(singleShard(myPrimary), true, "GET {a}x", "SET {a}y 1"); got != "MOVED 15495 "+primaryAddr {
		t.Errorf("a read and a write on a READONLY replica: %q", got)
	}
	if got := run(singleShard(localPrimary), false, "GET foo", "SET bar 1"); got != "CROSSSLOT Keys in request don't hash to the same slot" {
		t.Errorf("two slots across commands: %q", got)
	}
	if got := run(singleShard(myPrimary), false, "PING", "DBSIZE"); got != "" {
		t.Errorf("no keys: %q", got)
	}
}

// Redirect runs on every keyed command in cluster mode: serving one must
// not allocate.
func TestRedirectAllocations(t *testing.T) {
	tab := commands.Default()
	r := singleShard(localPrimary)
	cl := &commands.Client{}
	for _, s := range []string{"GET foo", "SET foo bar", "MGET {u}a {u}b {u}c", "MSET {u}a 1 {u}b 2"} {
		args := splitArgs(s)
		cmd := tab.Lookup(args[0])
		if n := testing.AllocsPerRun(100, func() {
			if err := commands.Redirect(cmd, args, r, cl); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Redirect(%s) allocates %v times", s, n)
		}
	}
}

func splitArgs(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}
