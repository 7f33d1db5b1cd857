package cluster

import "bytes"

// Slots is the number of hash slots, as in Redis Cluster.
const Slots = 16384

// KeySlot returns the hash slot of key as Redis Cluster computes it
// (keyHashSlot): CRC16/XMODEM of the key modulo Slots. When the key holds
// a hash tag, a non-empty run of bytes between its first '{' and the first
// '}' after it, only the tag is hashed, so "{user1}.a" and "{user1}.b"
// share a slot; "foo{}{bar}" has no tag and hashes whole.
func KeySlot(key []byte) int {
	if s := bytes.IndexByte(key, '{'); s >= 0 {
		if e := bytes.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key) & (Slots - 1))
}

// crc16 is CRC-16/XMODEM: polynomial 0x1021, initial value 0, no
// reflection, no final XOR; crc16("123456789") is 0x31C3.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()
