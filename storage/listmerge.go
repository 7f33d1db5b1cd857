package storage

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// A push or a pop at an end of a list edits one node, up to 64 KiB, and
// writing the node whole at each commit would put that much into the WAL
// and the memtable, and later into every flush and compaction, for a
// push of a few bytes. So a Tx that only pushed to and popped from the
// ends of a node it read writes a Pebble merge of those edits instead,
// an edit log, and Pebble applies the logs to the node when it reads,
// flushes or compacts it. The hot cache holds the node as edited.
//
// An edit log starts with four zero bytes, which no listpack does (its
// first four bytes are its size), followed by edits, oldest first:
//
//	'L' | uvarint len | element   push at the head
//	'R' | uvarint len | element   push at the tail
//	'l' | uvarint n                pop n at the head
//	'r' | uvarint n                pop n at the tail
//
// Logs compose by concatenation; a log over a node (a Set) gives a node,
// and a log with nothing under it (the whole history of the key was read)
// applies to an empty node.

const (
	editPushHead = 'L'
	editPushTail = 'R'
	editPopHead  = 'l'
	editPopTail  = 'r'
)

var (
	editLogMagic = []byte{0, 0, 0, 0}
	errEditLog   = errors.New("storage: corrupt list edit log")
)

// isEditLog reports whether v is an edit log rather than a node.
func isEditLog(v []byte) bool {
	return len(v) >= 4 && v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0
}

// appendPush appends a push of v to log.
func appendPush(log []byte, left bool, v []byte) []byte {
	if left {
		return appendEdit(log, editPushHead, uint64(len(v)), v)
	}
	return appendEdit(log, editPushTail, uint64(len(v)), v)
}

// appendPop appends a pop of n elements to log.
func appendPop(log []byte, left bool, n uint64) []byte {
	if left {
		return appendEdit(log, editPopHead, n, nil)
	}
	return appendEdit(log, editPopTail, n, nil)
}

// appendEdit appends edit op with its number x and element v to log,
// starting the log when empty.
func appendEdit(log []byte, op byte, x uint64, v []byte) []byte {
	if len(log) == 0 {
		log = append(log, editLogMagic...)
	}
	log = append(log, op)
	log = binary.AppendUvarint(log, x)
	return append(log, v...)
}

// applyEdits applies the edits of log (without its magic) to node and
// returns the node with its header set.
func applyEdits(node, log []byte) ([]byte, error) {
	var scratch []byte
	n := uint64(binary.LittleEndian.Uint16(node[4:]))
	if n == 0xffff {
		c, err := listNodeCountAll(node)
		if err != nil {
			return nil, err
		}
		n = c
	}
	for len(log) > 0 {
		op := log[0]
		x, w := binary.Uvarint(log[1:])
		if w <= 0 {
			return nil, errEditLog
		}
		log = log[1+w:]
		switch op {
		case editPushHead, editPushTail:
			if x > uint64(len(log)) {
				return nil, errEditLog
			}
			node = listNodePush(node, log[:x], op == editPushHead, &scratch)
			log = log[x:]
			n++
		case editPopHead, editPopTail:
			if x > n {
				return nil, errEditLog
			}
			for range x {
				var err error
				if node, err = listNodeDrop(node, op == editPopHead); err != nil {
					return nil, err
				}
			}
			n -= x
		default:
			return nil, errEditLog
		}
	}
	return listNodeFinish(node, n), nil
}

// listNodeCountAll counts node's elements by reading them.
func listNodeCountAll(node []byte) (uint64, error) {
	var n uint64
	err := listNodeEach(node, func([]byte) bool { n++; return true })
	return n, err
}

// listMerge is the ValueMerger of list nodes: it gathers the operands in
// order and applies them at Finish.
type listMerge struct {
	older [][]byte // newest first
	newer [][]byte // oldest first
}

func newListMerge(v []byte) *listMerge {
	return &listMerge{newer: [][]byte{slices.Clone(v)}}
}

func (m *listMerge) MergeNewer(v []byte) error {
	m.newer = append(m.newer, slices.Clone(v))
	return nil
}

func (m *listMerge) MergeOlder(v []byte) error {
	m.older = append(m.older, slices.Clone(v))
	return nil
}

// Finish applies the edit logs, oldest first, to the newest node among
// the operands (a Set's value, passed as the oldest), or to an empty node
// when the merge includes the key's whole history; otherwise it returns
// the logs joined.
func (m *listMerge) Finish(includesBase bool) ([]byte, io.Closer, error) {
	ops := slices.Clone(m.older)
	slices.Reverse(ops)
	ops = append(ops, m.newer...)
	base := -1
	for i, v := range ops {
		if !isEditLog(v) {
			base = i
		}
	}
	if base < 0 && !includesBase {
		out := slices.Clone(editLogMagic)
		for _, v := range ops {
			out = append(out, v[len(editLogMagic):]...)
		}
		return out, nil, nil
	}
	node := listNodeEmpty()
	if base >= 0 {
		node = slices.Clone(ops[base])
		if len(node) < listpackHeaderSize+1 {
			return nil, nil, errListNode
		}
	}
	for _, v := range ops[base+1:] {
		var err error
		if node, err = applyEdits(node, v[len(editLogMagic):]); err != nil {
			return nil, nil, err
		}
	}
	return node, nil, nil
}

// shoalMerger is the store's merge operator: key counts (counters.go) and
// list node edit logs, told apart by the key. Its name is the counters'
// first name, which stores keep in their options.
var shoalMerger = &pebble.Merger{
	Name: counterMerger.Name,
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		if len(key) > 0 && key[0] == encoding.TagSub {
			return newListMerge(value), nil
		}
		return counterMerger.Merge(key, value)
	},
}
