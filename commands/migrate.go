package commands

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/redcon"

	"github.com/shoaldb/shoal/internal/netfault"
	"github.com/shoaldb/shoal/storage"
)

// migrateCommands are MIGRATE, which moves keys to another server as
// DUMP payloads sent in RESTORE commands (redis-server or Shoal alike),
// and RESTORE-ASKING, the RESTORE a cluster node's MIGRATE sends.
func migrateCommands() []*Command {
	acl := []string{"keyspace", "write", "slow", "dangerous"}
	return []*Command{
		{Name: "migrate", Arity: -6, Flags: Write, FirstKey: 3, LastKey: 3, Step: 1, Keys: migrateKeys,
			ACL: acl, Group: gen, Summary: "Atomically transfer a key from a Redis instance to another one.", Since: "2.6.0",
			Complexity: "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.",
			Handler:    migrateCmd},
		{Name: "restore-asking", Arity: -4, Flags: Write | DenyOOM | Asking, FirstKey: 1, LastKey: 1, Step: 1,
			ACL: acl, Group: "server", Summary: "An internal command for migrating keys in a cluster", Since: "3.0.0",
			Complexity: restoreComplexity,
			Handler:    restoreCmd},
	}
}

// migrateKeys finds MIGRATE's keys as Redis's migrateGetKeys does: the
// key argument, or everything after KEYS when the key argument is empty.
func migrateKeys(args [][]byte) []int {
	first, num := 3, 1
	for i := 6; i < len(args); i++ {
		switch {
		case Is(args[i], "keys"):
			if len(args[3]) > 0 {
				return nil
			}
			first, num = i+1, len(args)-i-1
			i = len(args)
		case Is(args[i], "auth"):
			i++
		case Is(args[i], "auth2"):
			i += 2
		}
	}
	out := make([]int, 0, num)
	for i := first; i < first+num && i < len(args); i++ {
		out = append(out, i)
	}
	return out
}

// migrateOpts are MIGRATE's arguments.
type migrateOpts struct {
	addr             string
	source           string // bind-source-addr
	db, timeout      int64
	copy, replace    bool
	user, pass       []byte
	hasUser, hasPass bool
	keys             [][]byte
}

func parseMigrate(c *Ctx) (*migrateOpts, error) {
	o := &migrateOpts{keys: c.Args[3:4], source: c.Server.Config().BindSourceAddr}
	for j := 6; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		switch a := c.Args[j]; {
		case Is(a, "copy"):
			o.copy = true
		case Is(a, "replace"):
			o.replace = true
		case Is(a, "auth"):
			if more < 1 {
				return nil, ErrSyntax
			}
			j++
			o.pass, o.hasPass = c.Args[j], true
		case Is(a, "auth2"):
			if more < 2 {
				return nil, ErrSyntax
			}
			o.user, o.pass, o.hasUser, o.hasPass = c.Args[j+1], c.Args[j+2], true, true
			j += 2
		case Is(a, "keys"):
			if len(c.Args[3]) != 0 {
				return nil, Errf("When using MIGRATE KEYS option, the key argument must be set to the empty string")
			}
			o.keys = c.Args[j+1:]
			j = len(c.Args)
		default:
			return nil, ErrSyntax
		}
	}
	var err error
	if o.timeout, err = ParseInt(c.Args[5]); err != nil {
		return nil, err
	}
	if o.db, err = ParseInt(c.Args[4]); err != nil {
		return nil, err
	}
	if o.timeout <= 0 {
		o.timeout = 1000
	}
	o.timeout = min(o.timeout, 1<<40) // NB: in range of a time.Duration
	// NB: the port is read as atoi does: its leading digits.
	port := 0
	for _, d := range c.Args[2] {
		if d < '0' || d > '9' || port > 1<<20 {
			break
		}
		port = port*10 + int(d-'0')
	}
	o.addr = net.JoinHostPort(string(c.Args[1]), strconv.Itoa(port))
	return o, nil
}

var (
	errMigrateConnect = &Error{"IOERR", "error or timeout connecting to the client"}
	errMigrateRead    = &Error{"IOERR", "error or timeout reading to target instance"}
	errMigrateWrite   = &Error{"IOERR", "error or timeout writing to target instance"}
)

// migrateCmd is MIGRATE host port key|"" destination-db timeout [COPY]
// [REPLACE] [AUTH password | AUTH2 username password] [KEYS key ...], as
// Redis 7.0's: the keys that exist are sent as RESTORE commands with
// their remaining TTL over a connection kept for the next MIGRATE to the
// same address; those the target took are deleted here (unless COPY)
// and go to redis-server replicas as a DEL. The keys stay locked from
// their lookup until the target answered, so nothing changes them
// between the two.
func migrateCmd(c *Ctx) error {
	o, err := parseMigrate(c)
	if err != nil {
		return err
	}
	c.Tx.Lock(c.DB(), o.keys...)
	var found []*storage.Key
	var names [][]byte
	for _, name := range o.keys {
		k, err := c.ReadKey(name)
		if err != nil {
			return err
		}
		if k.Live {
			found, names = append(found, k), append(names, name)
		}
	}
	if len(found) == 0 {
		c.PropagateNothing()
		c.Out.Simple("NOKEY")
		return nil
	}
	// NB: Redis's payload is made once, with the TTL left at that time.
	var reqs []byte
	now := c.NowMs()
	var sent []*storage.Key
	var sentNames [][]byte
	for i, k := range found {
		ttl := int64(0)
		if k.Meta.ExpireAt != 0 {
			if ttl = k.Meta.ExpireAt - now; ttl < 0 {
				continue
			}
			ttl = max(ttl, 1)
		}
		p, err := c.Tx.Dump(k, c.rdbCompression())
		if err != nil {
			return err
		}
		name := "RESTORE"
		if c.Cluster != nil {
			name = "RESTORE-ASKING"
		}
		args := [][]byte{[]byte(name), names[i], strconv.AppendInt(nil, ttl, 10), p}
		if o.replace {
			args = append(args, []byte("REPLACE"))
		}
		reqs = appendCommand(reqs, args...)
		sent, sentNames = append(sent, k), append(sentNames, names[i])
	}
	took, err := migrateSockets.send(c.Store, o, reqs, len(sent))
	var deleted [][]byte
	done := map[string]bool{} // NB: a key named twice is deleted once
	if !o.copy {
		for i := range took {
			if took[i] && !done[string(sentNames[i])] {
				done[string(sentNames[i])] = true
				c.Tx.Delete(sent[i])
				c.Notify(NotifyGeneric, "del", sentNames[i])
				deleted = append(deleted, sentNames[i])
			}
		}
	}
	if len(deleted) > 0 {
		c.Propagate(append([][]byte{[]byte("DEL")}, deleted...)...)
		c.Changed(int64(len(deleted)))
	} else {
		c.PropagateNothing()
	}
	if err != nil {
		return err
	}
	c.Out.OK()
	return nil
}

// appendCommand appends args to b as a RESP array of bulk strings.
func appendCommand(b []byte, args ...[]byte) []byte {
	b = redcon.AppendArray(b, len(args))
	for _, a := range args {
		b = redcon.AppendBulk(b, a)
	}
	return b
}

// migrateSocketTTL is how long a MIGRATE connection is kept unused, and
// migrateSocketMax how many are kept (Redis's MIGRATE_SOCKET_CACHE_TTL
// and _ITEMS).
const (
	migrateSocketTTL = 10 * time.Second
	migrateSocketMax = 64
)

// migrateSocket is a connection MIGRATE keeps to one address, with the
// database it last selected there (-1: unknown).
type migrateSocket struct {
	nc     net.Conn
	rd     *bufio.Reader
	lastDB int64
	used   time.Time
}

// socketCache keeps each server's MIGRATE connections by address.
type socketCache struct {
	mu struct {
		sync.Mutex
		socks map[*storage.Store]map[string]*migrateSocket
		// janitor: sweep is scheduled.
		janitor bool
	}
}

var migrateSockets = func() *socketCache {
	sc := &socketCache{}
	sc.mu.socks = map[*storage.Store]map[string]*migrateSocket{}
	return sc
}()

// MigrateCachedSockets is the number of MIGRATE connections server s
// keeps (INFO's migrate_cached_sockets).
func MigrateCachedSockets(s *storage.Store) int {
	sc := migrateSockets
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.mu.socks[s])
}

// CloseMigrateSockets closes the MIGRATE connections server s keeps, as
// it shuts down.
func CloseMigrateSockets(s *storage.Store) {
	sc := migrateSockets
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, ms := range sc.mu.socks[s] {
		ms.nc.Close()
	}
	delete(sc.mu.socks, s)
}

// take removes and returns the cached connection to addr of server s, or
// dials one within timeout.
func (sc *socketCache) take(s *storage.Store, addr, source string, timeout time.Duration) (*migrateSocket, error) {
	sc.mu.Lock()
	if ms := sc.mu.socks[s][addr]; ms != nil {
		delete(sc.mu.socks[s], addr)
		sc.mu.Unlock()
		return ms, nil
	}
	sc.mu.Unlock()
	nc, err := netfault.DialFrom("tcp", addr, source, timeout)
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &addrErr):
		return nil, errMigrateConnect
	case err != nil:
		// NB: Redis takes a refused or timed out connection for made, and
		// fails on writing to it.
		return nil, errMigrateWrite
	}
	return &migrateSocket{nc: nc, rd: bufio.NewReader(nc), lastDB: -1}, nil
}

// put keeps ms for the next MIGRATE to addr from server s, closing an
// older one or, when the cache is full, one at random.
func (sc *socketCache) put(s *storage.Store, addr string, ms *migrateSocket) {
	ms.used = time.Now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	m := sc.mu.socks[s]
	if m == nil {
		m = map[string]*migrateSocket{}
		sc.mu.socks[s] = m
	}
	if old := m[addr]; old != nil {
		old.nc.Close()
	}
	if len(m) >= migrateSocketMax {
		for a, victim := range m {
			victim.nc.Close()
			delete(m, a)
			break
		}
	}
	m[addr] = ms
	if !sc.mu.janitor {
		sc.mu.janitor = true
		time.AfterFunc(time.Second, sc.sweep)
	}
}

// sweep closes the connections unused for migrateSocketTTL, once a
// second while any are kept.
func (sc *socketCache) sweep() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for s, m := range sc.mu.socks {
		for a, ms := range m {
			if time.Since(ms.used) > migrateSocketTTL {
				ms.nc.Close()
				delete(m, a)
			}
		}
		if len(m) == 0 {
			delete(sc.mu.socks, s)
		}
	}
	if len(sc.mu.socks) == 0 {
		sc.mu.janitor = false
		return
	}
	time.AfterFunc(time.Second, sc.sweep)
}

// send sends reqs, n RESTORE commands after the AUTH and SELECT o asks
// for, to o's address and reads the replies, as Redis's migrateCommand:
// took[i] reports that the target restored the i-th key. A failure to
// write, or to read the first reply, other than a timeout is retried
// once on a new connection. The error is the target's first, or the
// connection's.
func (sc *socketCache) send(s *storage.Store, o *migrateOpts, reqs []byte, n int) ([]bool, error) {
	timeout := time.Duration(o.timeout) * time.Millisecond
	for retry := true; ; retry = false {
		ms, err := sc.take(s, o.addr, o.source, timeout)
		if err != nil {
			return nil, err
		}
		x := ms.exchange(o, reqs, n, timeout)
		if x.ioErr == nil {
			sc.put(s, o.addr, ms)
		} else {
			ms.nc.Close()
		}
		switch {
		case x.target != "":
			return x.took, Errf("Target instance replied with error: %s", x.target)
		case x.ioErr != nil && x.again && retry:
			continue
		}
		return x.took, x.ioErr
	}
}

// exchanged is what one exchange with the target came to: which keys it
// took, its first error line, the connection's failure and whether the
// failure left nothing done, was not a timeout and may be retried.
type exchanged struct {
	took   []bool
	target string
	ioErr  error
	again  bool
}

// exchange writes the request and reads its replies on ms.
func (ms *migrateSocket) exchange(o *migrateOpts, reqs []byte, n int, timeout time.Duration) (x exchanged) {
	var head []byte
	if o.hasPass {
		if o.hasUser {
			head = appendCommand(head, []byte("AUTH"), o.user, o.pass)
		} else {
			head = appendCommand(head, []byte("AUTH"), o.pass)
		}
	}
	sel := ms.lastDB != o.db
	if sel {
		head = appendCommand(head, []byte("SELECT"), strconv.AppendInt(nil, o.db, 10))
	}
	failed := func(err, ioErr error) exchanged {
		x.ioErr, x.again = ioErr, !errors.Is(err, os.ErrDeadlineExceeded)
		return x
	}
	ms.nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := ms.nc.Write(append(head, reqs...)); err != nil {
		return failed(err, errMigrateWrite)
	}
	readLine := func() (string, error) {
		ms.nc.SetReadDeadline(time.Now().Add(timeout))
		line, err := ms.rd.ReadString('\n')
		return strings.TrimRight(line, "\r\n"), err
	}
	// NB: an error to AUTH or SELECT fails every key, as in Redis.
	var headErr string
	for _, expect := range []bool{o.hasPass, sel} {
		if !expect {
			continue
		}
		line, err := readLine()
		if err != nil {
			return failed(err, errMigrateRead)
		}
		if strings.HasPrefix(line, "-") && headErr == "" {
			headErr = line[1:]
		}
	}
	x.target = headErr
	x.took = make([]bool, n)
	for j := range n {
		line, err := readLine()
		if err != nil {
			ms.lastDB = -1
			x.ioErr = errMigrateRead
			x.again = j == 0 && x.target == "" && !errors.Is(err, os.ErrDeadlineExceeded)
			return x
		}
		if strings.HasPrefix(line, "-") {
			if x.target == "" {
				x.target = line[1:]
			}
			continue
		}
		x.took[j] = headErr == ""
	}
	if x.target != "" {
		ms.lastDB = -1
	}
	return x
}
