package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/obuf"
	"github.com/shoaldb/shoal/replication"
	"github.com/shoaldb/shoal/storage"
)

// replConfig is the replication part of cfg.
func (s *Server) replConfig(cfg *config.Config) replication.Config {
	// The port a replica announces, as Redis's: replica-announce-port,
	// else the TLS port when it replicates over TLS, else its port.
	port := cfg.Port
	switch {
	case cfg.ReplicaAnnouncePort != 0:
		port = cfg.ReplicaAnnouncePort
	case cfg.TLS.Replication && cfg.TLS.Port != 0:
		port = cfg.TLS.Port
	}
	var tlsClient *tls.Config
	if setup := s.tls.Load(); setup != nil && cfg.TLS.Replication {
		tlsClient = setup.client
	}
	return replication.Config{
		ListenPort:         port,
		AnnounceIP:         cfg.ReplicaAnnounceIP,
		TLS:                tlsClient,
		SourceAddr:         cfg.BindSourceAddr,
		MasterUser:         cfg.MasterUser,
		MasterAuth:         cfg.MasterAuth,
		BacklogBytes:       cfg.ReplBacklogSize,
		Timeout:            time.Duration(cfg.ReplTimeout) * time.Second,
		PingPeriod:         time.Duration(cfg.ReplPingPeriod) * time.Second,
		BacklogTTL:         time.Duration(cfg.ReplBacklogTTL) * time.Second,
		ReplicaLimit:       obuf.Parse(cfg.ClientOutputBufferLimit)[obuf.Replica],
		MinReplicasToWrite: cfg.MinReplicasToWrite,
		MinReplicasMaxLag:  time.Duration(cfg.MinReplicasMaxLag) * time.Second,
		WaitAllGrace:       time.Duration(cfg.WaitAllDisconnectGrace) * time.Second,
		WaitAllMin:         cfg.WaitAllMinReplicas,
		Dir:                cfg.Dir,
	}
}

// Repl returns the node's replication.
func (s *Server) Repl() *replication.Manager { return s.repl }

// WaitBlock implements commands.Server.WaitBlock: the connection counts
// as blocked (INFO blocked_clients, CLIENT LIST flag b), CLIENT UNBLOCK
// reaches it, and cancel is closed when the client hangs up, is unblocked
// or the server closes.
func (s *Server) WaitBlock(c *commands.Ctx) (cancel <-chan struct{}, end func() error) {
	cn := connOf(c)
	w := s.addWaiter(cn, c.DB(), nil, false)
	cn.blocked.Store(true)
	// Commit and send the pipeline's earlier replies: the wait may be long.
	cn.flush()
	hup := watchHangup(cn.nc)
	ch := make(chan struct{})
	quit := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-hup.gone:
		case <-w.unblock:
		case <-s.stop:
		case <-quit:
			return
		}
		close(ch)
	}()
	return ch, func() error {
		close(quit)
		<-exited
		hup.stop()
		cn.blocked.Store(false)
		s.removeWaiter(w)
		s.blocking.mu.Lock()
		var err error
		if w.done {
			err = w.unblockErr
		}
		s.blocking.mu.Unlock()
		return cn.unblockedWith(err)
	}
}

// startReplicaOf follows cfg.ReplicaOf ("host port") at start.
func (s *Server) startReplicaOf(cfg *config.Config) {
	if f := strings.Fields(cfg.ReplicaOf); len(f) == 2 {
		port, _ := strconv.Atoi(f[1])
		s.follow(f[0], port)
	}
}

// follow makes the node a replica of host:port, unless it follows it
// already, and reports whether it did. Every command blocked until then
// ends (errTurnedReplica), as Redis's replicationSetMaster disconnects
// its blocked clients.
func (s *Server) follow(host string, port int) bool {
	if !s.repl.ReplicaOf(host, port) {
		return false
	}
	s.unblockAll(errTurnedReplica)
	return true
}

// ReplicaOf implements REPLICAOF/SLAVEOF.
func (s *Server) ReplicaOf(c *commands.Ctx, host string, port int) error {
	if s.cluster != nil {
		return commands.Errf("REPLICAOF not allowed in cluster mode.")
	}
	if host == "" {
		if err := s.becomePrimary(); err != nil {
			return err
		}
		c.Out.OK()
		return nil
	}
	if !s.follow(host, port) {
		c.Out.Simple("OK Already connected to specified master")
		return nil
	}
	s.setReplicaOf(host + " " + strconv.Itoa(port))
	c.Out.OK()
	return nil
}

// becomePrimary is REPLICAOF NO ONE: the node stops following its
// primary, and its configuration (CONFIG REWRITE) says so, even when
// the store failed to record the promotion (the link is gone by then).
func (s *Server) becomePrimary() error {
	err := s.repl.NoOne()
	s.setReplicaOf("")
	return err
}

func (s *Server) setReplicaOf(v string) {
	s.cfgMu.Lock()
	s.cfg.ReplicaOf = v
	s.cfgMu.Unlock()
	s.applyOOMScore() // a replica's score, or a primary's
}

// Replconf records what a replica says about itself before PSYNC:
// listening-port, id and capabilities.
func (s *Server) Replconf(c *commands.Ctx) error {
	cn := connOf(c)
	args := c.Args[1:]
	if len(args)%2 != 0 {
		return commands.ErrSyntax
	}
	for i := 0; i < len(args); i += 2 {
		opt, val := args[i], args[i+1]
		switch {
		case commands.Is(opt, "listening-port"):
			p, err := strconv.Atoi(string(val))
			if err != nil || p < 0 || p > 65535 {
				return commands.Errf("Invalid listening-port '%s'", val)
			}
			cn.replHello.ListenPort = p
		case commands.Is(opt, "id"):
			cn.replHello.ID = string(val)
		case commands.Is(opt, "writer-epoch"):
			e, err := strconv.ParseUint(string(val), 10, 64)
			if err != nil {
				return commands.Errf("Invalid writer-epoch '%s'", val)
			}
			if s.cluster != nil && e > s.cluster.Epoch() {
				s.cluster.Kick()
				return &commands.Error{Code: "STALEEPOCH", Msg: fmt.Sprintf("this primary's writer epoch %d is older than the replica's %d", s.cluster.Epoch(), e)}
			}
		case commands.Is(opt, "rdb-only"):
			switch string(val) {
			case "0", "1":
				cn.replHello.RDBOnly = string(val) == "1"
			default:
				return commands.Errf("Invalid rdb-only value '%s'", val)
			}
		case commands.Is(opt, "ip-address"):
			// The address the replica announces (replica-announce-ip),
			// shown in place of its connection's.
			cn.replHello.IP = string(val)
		case commands.Is(opt, "capa"):
			if commands.Is(val, "eof") {
				cn.replHello.EOF = true
			}
		case commands.Is(opt, "rdb-filter-only"):
			// As Redis 7.0: every part left out but those named, of
			// which "functions" is the one there is; "" leaves all out.
			f := storage.RDBFilter{ExcludeData: true, ExcludeFunctions: true}
			for _, name := range strings.Fields(string(val)) {
				if !strings.EqualFold(name, "functions") {
					return commands.Errf("Unsupported rdb-filter-only option: %s", name)
				}
				f.ExcludeFunctions = false
			}
			cn.replHello.Filter = f
		case commands.Is(opt, "getack"), commands.Is(opt, "ack"):
			// Accepted; the stream is Shoal's own.
		default:
			return commands.Errf("Unrecognized REPLCONF option: %s", opt)
		}
	}
	c.Out.OK()
	return nil
}

// Psync hands the connection to the replication stream: the command loop
// lets go of it after this request, and the replication manager answers
// +FULLRESYNC or +CONTINUE.
func (s *Server) Psync(c *commands.Ctx, replid string, offset int64) error {
	cn := connOf(c)
	if c.Cmd.Name == "psync" && len(c.Args) > 3 && commands.Is(c.Args[3], "failover") {
		if err := s.takeOverFrom(c, replid); err != nil {
			return err
		}
	}
	if up, ok := s.repl.Upstream(); ok && !up.LinkUp {
		return &commands.Error{Code: "NOMASTERLINK", Msg: "Can't SYNC while not connected with my master"}
	}
	if cn.replHello.Filter.Filtered() && !cn.replHello.EOF {
		return commands.Errf("Filtered replica requires EOF capability")
	}
	cn.flush()
	cn.waitOut()
	hello := cn.replHello
	if host, _, err := net.SplitHostPort(cn.Addr); err == nil && hello.IP == "" {
		hello.IP = host
	}
	if cc, ok := cn.nc.(*countingConn); ok {
		cc.replica.Store(true)
	}
	nc := cn.nc
	if s.Config().ReplDisableTCPNoDelay {
		// As Redis's SYNC does: fewer, larger packets to the replica.
		if tc, ok := rawConn(nc).(*net.TCPConn); ok {
			tc.SetNoDelay(false)
		}
	}
	hello.Sync = c.Cmd.Name == "sync"
	cn.detached = true
	s.wg.Add(1)
	cn.afterDetach = func(read func() ([][]byte, error)) {
		go func() {
			defer s.wg.Done()
			defer s.dropClient(cn)
			switch {
			case hello.RDBOnly:
				s.repl.ServeRDB(nc, hello, s.rdbAux())
				return
			case hello.ID == "":
				// Shoal replicas name themselves; a redis-server does not.
				s.repl.ServeRedisReplica(nc, read, hello, s.rdbAux(), replid, offset)
				return
			}
			s.repl.ServeReplica(nc, read, hello, replid, offset)
		}()
	}
	return nil
}

// takeOverFrom is the replica's part in its primary's FAILOVER (a
// redis-server's or a Shoal node's): the primary, its writes paused and
// this node caught up, asks to follow it with "PSYNC <its replid> <offset>
// FAILOVER"; the node, if it replicates that very history, becomes a
// primary, as Redis's replica does, and the PSYNC goes on as any
// replica's (from a redis-server, a full sync: Shoal's stream to it has
// its own history).
func (s *Server) takeOverFrom(c *commands.Ctx, replid string) error {
	up, replica := s.repl.Upstream()
	mine := up.RedisReplID
	if mine == "" {
		mine, _, _ = s.store.ReplIDs() // a Shoal primary's history
	}
	switch {
	case !replica:
		return commands.Errf("PSYNC FAILOVER can't be sent to a master.")
	case replid != mine:
		return commands.Errf("PSYNC FAILOVER replid must match my replid.")
	}
	if err := s.becomePrimary(); err != nil {
		return err
	}
	s.log.Info("MASTER MODE enabled (failover request)", "client", connOf(c).Addr)
	return nil
}

// errMasterDown is Redis's refusal under replica-serve-stale-data no.
var errMasterDown = commands.ErrMasterDown

// staleGate refuses, on a replica whose link to its primary is not up
// under replica-serve-stale-data no, the commands Redis does: every one
// without the stale flag, and EXEC of a transaction that queued one.
func (c *conn) staleGate(cmd *commands.Command, args [][]byte) error {
	if c.master || !c.s.stale() {
		return nil
	}
	deny := !c.flags(cmd, args).Has(commands.Stale)
	if cmd.Name == "exec" && c.multi != nil {
		for _, q := range c.multi.queued {
			deny = deny || !c.flags(q.cmd, q.args).Has(commands.Stale)
		}
	}
	if deny {
		return errMasterDown
	}
	return nil
}

// Stale implements commands.Server.
func (s *Server) Stale() bool { return s.stale() }

// stale reports a replica whose link to its primary is down, under
// replica-serve-stale-data no: it serves only what may run stale.
func (s *Server) stale() bool {
	if s.serveStale.Load() {
		return false
	}
	up, ok := s.repl.Upstream()
	return ok && !up.LinkUp
}

// replicationGate refuses writes a replica or an under-replicated primary
// must not take, with Redis's errors; write says the command writes
// (conn.writes).
func (s *Server) replicationGate(write bool) error {
	if !write {
		return nil
	}
	if s.repl.IsReplica() {
		if s.replicaReadOnly.Load() {
			return &commands.Error{Code: "READONLY", Msg: "You can't write against a read only replica."}
		}
		return nil
	}
	if !s.repl.WriteAllowed() {
		return &commands.Error{Code: "NOREPLICAS", Msg: "Not enough good replicas to write."}
	}
	return nil
}
