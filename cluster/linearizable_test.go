package cluster_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testcluster"
)

// A register: writes set it, reads return it.
type regInput struct {
	write bool
	value string
}

var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return "set " + in.value
		}
		return "get -> " + output.(string)
	},
}

// TestLinearizableAcrossFailovers runs clients that write and read one key
// while the primary is killed and restarted, and checks the history with
// porcupine. A write counts as done only once WAITALL confirmed it on
// every expected replica; any other outcome leaves it pending forever
// (it may or may not have happened). A read counts once a write the same
// connection made after it was confirmed by WAITALL, so what it read was
// on every replica; an unconfirmed read is left out (it changed nothing).
func TestLinearizableAcrossFailovers(t *testing.T) {
	c := start(t, testcluster.Options{})
	ctx := ctxT(t)
	var primary atomic.Pointer[testcluster.Node]
	primary.Store(stable(t, c))
	base := time.Now()
	now := func() int64 { return int64(time.Since(base)) }

	var mu sync.Mutex
	var ops []porcupine.Operation
	var pending []int // indexes of writes whose outcome is unknown
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const clients = 3
	for id := 0; id < clients; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(id), 7))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				p := primary.Load()
				conn := p.Client().Conn()
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				if rng.IntN(2) == 0 {
					v := "c" + itoa(id) + "-" + itoa(seq)
					call := now()
					ok, sent := confirmedWrite(cctx, conn, "reg", v)
					op := porcupine.Operation{ClientId: id, Input: regInput{write: true, value: v}, Call: call, Output: "", Return: now()}
					mu.Lock()
					switch {
					case !sent:
						// Never reached a server: it did not happen.
					case !ok:
						pending = append(pending, len(ops))
						ops = append(ops, op)
					default:
						ops = append(ops, op)
					}
					mu.Unlock()
				} else {
					call := now()
					got, err := conn.Get(cctx, "reg").Result()
					if err == redis.Nil {
						got, err = "", nil
					}
					if err == nil {
						if ok, _ := confirmedWrite(cctx, conn, "scratch:"+itoa(id), itoa(seq)); ok {
							mu.Lock()
							ops = append(ops, porcupine.Operation{ClientId: id, Input: regInput{}, Call: call, Output: got, Return: now()})
							mu.Unlock()
						}
					}
				}
				cancel()
				conn.Close()
			}
		}()
	}
	// Failovers under the load, each after the clients made progress: the
	// primary killed and restarted, then frozen and thawed (it comes back
	// believing it is primary, with clients still connected to it).
	for round := 0; round < 3; round++ {
		waitOps(t, &mu, &ops, 30*(round+1))
		p := primary.Load()
		freeze := round == 1
		if freeze {
			p.Freeze()
		} else {
			p.Kill()
		}
		np, took := waitServing(t, c, failoverBound, p)
		t.Logf("round %d: node %d serves %v after the %s", round, np.ID, took, map[bool]string{true: "freeze", false: "kill"}[freeze])
		primary.Store(np)
		if freeze {
			p.Thaw()
		} else if err := p.Restart(); err != nil {
			t.Fatal(err)
		}
		stable(t, c)
	}
	waitOps(t, &mu, &ops, 120)
	close(stop)
	wg.Wait()

	end := now()
	for i, j := range pending {
		ops[j].Return = end + int64(i) + 1
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, time.Minute)
	if res != porcupine.Ok {
		t.Logf("history: %d operations, %d writes of unknown outcome", len(ops), len(pending))
		if res == porcupine.Illegal {
			for _, op := range ops {
				t.Logf("client %d [%d, %d] %s", op.ClientId, op.Call, op.Return, registerModel.DescribeOperation(op.Input, op.Output))
			}
		}
		_ = info
		t.Fatalf("porcupine: %v", res)
	}
	t.Logf("linearizable: %d operations, %d writes of unknown outcome", len(ops), len(pending))
}

// confirmedWrite sets key on conn and reports whether WAITALL then saw
// every expected replica (at least one) acknowledge it; sent is false when
// the SET never reached a server (its connection was refused), so that
// it did not happen.
func confirmedWrite(ctx context.Context, conn *redis.Conn, key, val string) (ok, sent bool) {
	if err := conn.Set(ctx, key, val, 0).Err(); err != nil {
		var op *net.OpError
		return false, !errors.As(err, &op) || op.Op != "dial"
	}
	r, err := conn.Do(ctx, "WAITALL", 500).Int64Slice()
	return err == nil && len(r) == 2 && r[0] == r[1] && r[1] >= 1, true
}

func waitOps(t *testing.T, mu *sync.Mutex, ops *[]porcupine.Operation, n int) {
	t.Helper()
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(*ops) >= n, "clients have made " + itoa(len(*ops)) + " operations"
	})
}
