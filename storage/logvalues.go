package storage

import (
	"bytes"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// logValuesApart has Pebble write the replication log's records, each a
// copy of a commit's batch, into blob files of their own at flush, and
// keep every other value in its table: compactions then move a reference
// to each record instead of its bytes until the log's trim deletes it.
// The log's records are about half of what a primary with replicas
// writes, and a replica logs what it applies as well. Data values stay in
// place, as point reads of separated values were measured slower (a GET
// then follows a reference into a blob file).
func logValuesApart(po *pebble.Options) {
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           logValueMin,
			MaxBlobReferenceDepth: 10,
			RewriteMinimumAge:     time.Minute,
			TargetGarbageRatio:    0.5,
		}
	}
	end := encoding.PrefixEnd(logPrefix)
	inPlace := pebble.SpanPolicy{ValueStoragePolicy: pebble.ValueStorageLowReadLatency}
	po.Experimental.SpanPolicyFunc = func(start []byte) (pebble.SpanPolicy, []byte, error) {
		switch {
		case bytes.Compare(start, logPrefix) < 0:
			return inPlace, logPrefix, nil
		case bytes.Compare(start, end) < 0:
			return pebble.SpanPolicy{}, end, nil
		}
		return inPlace, nil, nil
	}
}

// logValueMin is the smallest log record written apart.
const logValueMin = 64
