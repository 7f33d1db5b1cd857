package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/shoaldb/shoal/replication"
)

// A replica's link to its primary in CLIENT LIST and CLIENT KILL, as
// Redis's master client (replication/masterlink.go): flag M, TYPE master,
// the primary's address as addr, user (superuser). Shoal applies its
// primary's batches, not commands, so the line shows no last command.

// masterLink returns the link to the primary when the node is a replica
// connected to one.
func (s *Server) masterLink() (replication.MasterLink, bool) {
	if !s.repl.IsReplica() {
		return replication.MasterLink{}, false
	}
	return s.repl.MasterLink()
}

// writeMasterLine writes l's line of CLIENT LIST in the form of
// writeClientLine.
func writeMasterLine(b *strings.Builder, l replication.MasterLink) {
	now := time.Now()
	num := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, f := range [][2]string{
		{"id", num(l.ID)}, {"addr", l.Addr}, {"laddr", l.LocalAddr}, {"fd", "-1"}, {"name", ""},
		{"age", num(int64(now.Sub(l.Since).Seconds()))}, {"idle", num(max(0, int64(now.Sub(l.LastIO).Seconds())))},
		{"flags", "M"}, {"db", "0"}, {"sub", "0"}, {"psub", "0"}, {"ssub", "0"}, {"multi", "-1"}, {"watch", "0"},
		{"qbuf", "0"}, {"qbuf-free", "0"}, {"argv-mem", "0"}, {"multi-mem", "0"}, {"rbs", "0"}, {"rbp", "0"},
		{"obl", "0"}, {"oll", "0"}, {"omem", "0"}, {"tot-mem", "0"}, {"events", "r"}, {"cmd", "NULL"},
		{"user", "(superuser)"}, {"redir", "-1"}, {"resp", "2"}, {"lib-name", ""}, {"lib-ver", ""},
	} {
		if f[0] != "id" {
			b.WriteByte(' ')
		}
		b.WriteString(f[0])
		b.WriteByte('=')
		b.WriteString(f[1])
	}
	b.WriteByte('\n')
}

// matchLink reports whether CLIENT KILL's filter takes the link l.
func (f *killFilter) matchLink(l replication.MasterLink) bool {
	switch {
	case f.id != 0 && l.ID != f.id,
		f.typ != "" && f.typ != "master",
		f.addr != "" && l.Addr != f.addr,
		f.laddr != "" && l.LocalAddr != f.laddr,
		f.user != "",
		f.maxAge != 0 && int64(time.Since(l.Since).Seconds()) < f.maxAge:
		return false
	}
	return true
}
