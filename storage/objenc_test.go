package storage

import (
	"testing"

	"github.com/shoaldb/shoal/storage/encoding"
)

// TestEncodingRecorded checks that writes record Redis's encoding in the
// key's metadata, committed and read back, under the thresholds in force.
func TestEncodingRecorded(t *testing.T) {
	s := openMemStore(t)
	s.SetEncodings(Encodings{HashEntries: 2, HashValue: 3, SetIntsetEntries: 2, ZSetEntries: 2, ZSetValue: 3})
	write := func(name string, typ encoding.Type, f func(tx *Tx, k *Key)) encoding.Enc {
		t.Helper()
		tx := s.NewTx()
		tx.Lock(0, []byte(name))
		k, err := tx.Lookup(0, []byte(name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.PrepareCollection(k, typ); err != nil {
			t.Fatal(err)
		}
		f(tx, k)
		tx.SetSize(k, k.Meta.Size)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		k, err = s.NewTx().Lookup(0, []byte(name))
		if err != nil {
			t.Fatal(err)
		}
		return k.Meta.Enc
	}
	hset := func(f, v string) func(*Tx, *Key) {
		return func(tx *Tx, k *Key) { tx.HashSet(k, []byte(f), []byte(v)) }
	}
	sadd := func(m string) func(*Tx, *Key) {
		return func(tx *Tx, k *Key) { tx.SetAdd(k, []byte(m)) }
	}
	zadd := func(m string) func(*Tx, *Key) {
		return func(tx *Tx, k *Key) { tx.ZAdd(k, []byte(m), 1) }
	}
	for _, tc := range []struct {
		name  string
		typ   encoding.Type
		steps []func(*Tx, *Key)
		want  encoding.Enc
	}{
		{"h1", encoding.TypeHash, []func(*Tx, *Key){hset("a", "1"), hset("b", "2")}, encoding.EncCompact},
		{"h2", encoding.TypeHash, []func(*Tx, *Key){hset("a", "1"), hset("b", "2"), hset("c", "3")}, encoding.EncLarge},
		{"h3", encoding.TypeHash, []func(*Tx, *Key){hset("a", "1234")}, encoding.EncLarge},
		{"s1", encoding.TypeSet, []func(*Tx, *Key){sadd("1"), sadd("-2")}, encoding.EncCompact},
		{"s2", encoding.TypeSet, []func(*Tx, *Key){sadd("01")}, encoding.EncLarge},
		{"s3", encoding.TypeSet, []func(*Tx, *Key){sadd("1"), sadd("2"), sadd("3")}, encoding.EncLarge},
		{"z1", encoding.TypeZSet, []func(*Tx, *Key){zadd("abc"), zadd("b")}, encoding.EncCompact},
		{"z2", encoding.TypeZSet, []func(*Tx, *Key){zadd("abcd")}, encoding.EncLarge},
		{"z3", encoding.TypeZSet, []func(*Tx, *Key){zadd("a"), zadd("b"), zadd("c")}, encoding.EncLarge},
	} {
		var got encoding.Enc
		for _, st := range tc.steps {
			got = write(tc.name, tc.typ, st)
		}
		if got != tc.want {
			t.Errorf("%s: Enc = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCompactWithoutRecord checks that a collection written before Shoal
// recorded encodings is judged by its contents.
func TestCompactWithoutRecord(t *testing.T) {
	s := openMemStore(t)
	s.SetEncodings(Encodings{HashEntries: 2, HashValue: 3, SetIntsetEntries: 2, ZSetEntries: 2, ZSetValue: 3})
	tx := s.NewTx()
	for _, tc := range []struct {
		name    string
		typ     encoding.Type
		members []string
		want    bool
	}{
		{"h1", encoding.TypeHash, []string{"a", "b"}, true},
		{"h2", encoding.TypeHash, []string{"a", "b", "c"}, false},
		{"h3", encoding.TypeHash, []string{"abcd"}, false},
		{"s1", encoding.TypeSet, []string{"1", "2"}, true},
		{"s2", encoding.TypeSet, []string{"1", "x"}, false},
		{"z1", encoding.TypeZSet, []string{"abc"}, true},
		{"z2", encoding.TypeZSet, []string{"abcd"}, false},
	} {
		k, err := tx.Lookup(0, []byte(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.PrepareCollection(k, tc.typ); err != nil {
			t.Fatal(err)
		}
		k.Meta.Enc = encoding.EncUnknown
		for _, m := range tc.members {
			switch tc.typ {
			case encoding.TypeHash:
				tx.SetMember(MemberKey(nil, k, HashFieldTag, []byte(m)), []byte("v"))
			case encoding.TypeSet:
				tx.SetMember(MemberKey(nil, k, SetMemberTag, []byte(m)), nil)
			case encoding.TypeZSet:
				tx.ZPut(k, []byte(m), 1, 0, false)
			}
		}
		k.Meta.Size = uint64(len(tc.members))
		if got, err := tx.Compact(k); err != nil || got != tc.want {
			t.Errorf("%s: Compact = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
