package commands

import "sync/atomic"

// EventClass is a set of keyspace event classes, the letters of
// notify-keyspace-events (Redis's NOTIFY_* flags).
type EventClass uint32

// The event classes. Keyspace and Keyevent say where events go
// (__keyspace@<db>__:<key>, __keyevent@<db>__:<event>); the others say
// which events fire.
const (
	NotifyKeyspace EventClass = 1 << iota // K
	NotifyKeyevent                        // E
	NotifyGeneric                         // g: DEL, EXPIRE, RENAME, ...
	NotifyString                          // $
	NotifyList                            // l
	NotifySet                             // s
	NotifyHash                            // h
	NotifyZset                            // z
	NotifyExpired                         // x
	NotifyEvicted                         // e
	NotifyStream                          // t
	NotifyKeyMiss                         // m
	NotifyModule                          // d
	NotifyNew                             // n

	// NotifyAll is what A stands for: every class but m and n.
	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash |
		NotifyZset | NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// ParseEventClasses reads notify-keyspace-events' letters (as CONFIG SET
// has checked them); unknown letters are ignored.
func ParseEventClasses(s string) EventClass {
	var f EventClass
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'A':
			f |= NotifyAll
		case 'g':
			f |= NotifyGeneric
		case '$':
			f |= NotifyString
		case 'l':
			f |= NotifyList
		case 's':
			f |= NotifySet
		case 'h':
			f |= NotifyHash
		case 'z':
			f |= NotifyZset
		case 'x':
			f |= NotifyExpired
		case 'e':
			f |= NotifyEvicted
		case 't':
			f |= NotifyStream
		case 'm':
			f |= NotifyKeyMiss
		case 'd':
			f |= NotifyModule
		case 'n':
			f |= NotifyNew
		case 'K':
			f |= NotifyKeyspace
		case 'E':
			f |= NotifyKeyevent
		}
	}
	return f
}

// Events is the server's notify-keyspace-events in force, read on every
// write: Enabled costs one atomic load, so a write builds nothing when
// notifications are off and no replica asks for them.
type Events struct {
	flags atomic.Uint32
	ship  atomic.Bool
}

// Set installs the classes in force.
func (e *Events) Set(f EventClass) { e.flags.Store(uint32(f)) }

// SetShip says whether writes carry their events to replicas (a connected
// replica asks for them).
func (e *Events) SetShip(on bool) { e.ship.Store(on) }

// Shipped reports whether writes carry their events to replicas.
func (e *Events) Shipped() bool { return e.ship.Load() }

// Shippable are the classes a replica may fire for the writes it
// applies: a key missed on a read is not a write.
const Shippable = NotifyAll | NotifyNew

// Enabled reports whether an event of class is wanted: it fires here (its
// class is on, and so is a channel kind, K or E) or goes to replicas.
func (e *Events) Enabled(class EventClass) bool {
	return e.Local(class) || class&Shippable != 0 && e.ship.Load()
}

// Local reports whether an event of class fires here.
func (e *Events) Local(class EventClass) bool {
	f := EventClass(e.flags.Load())
	return f&class != 0 && f&(NotifyKeyspace|NotifyKeyevent) != 0
}

// Flags returns the classes in force.
func (e *Events) Flags() EventClass { return EventClass(e.flags.Load()) }

// Notify fires the keyspace event of class named event for key, in the
// client's database, as Redis's notifyKeyspaceEvent: each handler names
// its event where Redis's does, after the write it reports. It does
// nothing unless notify-keyspace-events enables class.
func (c *Ctx) Notify(class EventClass, event string, key []byte) {
	c.NotifyAs(class, event, event, key)
}

// NotifyAs is Notify for a write Redis sends its replicas as another
// command: replicas fire shipped ("": nothing) where Redis's replica fires
// that command's event (INCRBYFLOAT as SET fires "set").
func (c *Ctx) NotifyAs(class EventClass, event, shipped string, key []byte) {
	if c.Events == nil || !c.Events.Enabled(class) {
		return
	}
	c.Server.Notify(c, class, event, shipped, c.DB(), key)
}

// NotifyIn is Notify for a key of another database (MOVE's target).
func (c *Ctx) NotifyIn(db int, class EventClass, event string, key []byte) {
	if c.Events == nil || !c.Events.Enabled(class) {
		return
	}
	c.Server.Notify(c, class, event, event, db, key)
}

// notifyStored fires the events of a command that stores its result in
// dst (SINTERSTORE, ZUNIONSTORE, SORT ... STORE, ...): event when the
// result is stored, "del" when an empty result removed the key dst held
// (had).
func (c *Ctx) notifyStored(class EventClass, event string, dst []byte, stored, had bool) {
	switch {
	case stored:
		c.Notify(class, event, dst)
	case had:
		c.Notify(NotifyGeneric, "del", dst)
	}
}
