package replication

import (
	"net"
	"time"
)

// A replica's link to its primary shows in the replica's CLIENT LIST as
// Redis's master client does (flag M, TYPE master), and CLIENT KILL ends
// it: the replica connects again and resyncs, partially when the primary
// still holds its offset, as Redis's replica does after its master client
// is killed.

// MasterLink is the replica's connected link to its primary.
type MasterLink struct {
	ID        int64 // a client id, taken when the link connected
	Addr      string
	LocalAddr string
	Since     time.Time // when the link connected
	LastIO    time.Time // the last byte from the primary
}

// SetClientIDs gives the manager the server's client ids: each link to a
// primary takes one when it connects.
func (m *Manager) SetClientIDs(next func() int64) { m.clientIDs.Store(&next) }

// MasterLink returns the link to the primary while it is connected.
func (m *Manager) MasterLink() (MasterLink, bool) {
	up := m.upstream()
	if up == nil {
		return MasterLink{}, false
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.conn == nil || !up.linkUp.Load() {
		return MasterLink{}, false
	}
	l := up.link
	l.LastIO = time.Unix(0, up.lastIO.Load())
	return l, true
}

// DropMasterLink closes the link to the primary if its id is id; the
// replica connects again by itself. It reports whether it did.
func (m *Manager) DropMasterLink(id int64) bool {
	up := m.upstream()
	if up == nil {
		return false
	}
	up.mu.Lock()
	c := up.conn
	ok := c != nil && up.link.ID == id
	up.mu.Unlock()
	if ok {
		c.Close()
	}
	return ok
}

// newMasterLink describes c, just connected, with a fresh client id.
func (m *Manager) newMasterLink(c net.Conn) MasterLink {
	var id int64
	if next := m.clientIDs.Load(); next != nil {
		id = (*next)()
	}
	return MasterLink{ID: id, Addr: c.RemoteAddr().String(), LocalAddr: c.LocalAddr().String(), Since: time.Now()}
}
