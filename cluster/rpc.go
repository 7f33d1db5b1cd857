package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"time"
)

// Catalog requests travel over the catalog port (after the connRPC byte)
// as one JSON request and one JSON response per connection. Requests that
// change or read the catalog with authority go to the raft leader; the
// others (offset, pause) go to the member they concern.
const (
	rpcRenew  = "renew"  // a primary renews its lease (leader)
	rpcCAS    = "cas"    // compare-and-swap a shard record (leader)
	rpcRead   = "read"   // read a shard record with authority (leader)
	rpcApply  = "apply"  // apply a join or forget (leader)
	rpcOffset = "offset" // a member's replication offset
	rpcPause  = "pause"  // a primary pauses writes for a manual failover
)

type rpcRequest struct {
	Op      string   `json:"op"`
	From    string   `json:"from,omitempty"`
	Shard   int      `json:"shard"`
	Epoch   uint64   `json:"epoch,omitempty"`
	CAS     *casReq  `json:"cas,omitempty"`
	Command *command `json:"command,omitempty"`
	// Millis is a duration argument (pause length).
	Millis int64 `json:"ms,omitempty"`
	// Primary is the member whose health an offset request asks about.
	Primary string `json:"primary,omitempty"`
}

type rpcResponse struct {
	Err string `json:"err,omitempty"`
	// NotLeader reports that the request needs the leader and this member
	// is not it.
	NotLeader bool   `json:"notleader,omitempty"`
	Conflict  bool   `json:"conflict,omitempty"`
	Shard     *Shard `json:"shard,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
	Replica   bool   `json:"replica,omitempty"`
	// Alive is the answer to an offset request's Primary: gossip here
	// says it is alive.
	Alive bool `json:"alive,omitempty"`
	// Data is an applied operation's own result (applyResult.Data).
	Data json.RawMessage `json:"data,omitempty"`
}

// rpcTimeout bounds one request; the callers retry.
const rpcTimeout = 2 * time.Second

// call sends one request to the catalog port at addr.
func call(addr string, req *rpcRequest, timeout time.Duration) (*rpcResponse, error) {
	c, err := dialMux(addr, connRPC, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var resp rpcResponse
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return nil, err
	}
	if resp.NotLeader {
		return &resp, ErrNotLeader
	}
	return &resp, nil
}

// serveRPC answers one request on c with handle.
func serveRPC(c net.Conn, handle func(*rpcRequest) *rpcResponse) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req rpcRequest
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
		return
	}
	resp := handle(&req)
	if resp == nil {
		return // the reply is dropped on purpose (failpoint)
	}
	json.NewEncoder(c).Encode(resp)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func respErr(r *rpcResponse) error {
	if r.Err == "" {
		return nil
	}
	return errors.New(r.Err)
}
