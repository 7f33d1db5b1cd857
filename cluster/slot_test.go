package cluster

import "testing"

func TestCRC16(t *testing.T) {
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#04x, want 0x31c3", got)
	}
}

// The vectors are Redis Cluster's: CLUSTER KEYSLOT answers the same.
func TestKeySlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
		{"", 0},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{bar}{zap}", 5061}, // the first tag only
		{"foo{{bar}}zap", 4015}, // the tag is "{bar"
		{"foo{}{bar}", int(crc16([]byte("foo{}{bar}")) & (Slots - 1))}, // empty tag: the whole key
		{"foo{bar", int(crc16([]byte("foo{bar")) & (Slots - 1))},       // no '}': the whole key
		{"foo}bar{", int(crc16([]byte("foo}bar{")) & (Slots - 1))},     // '}' before '{' does not close it
		{"a{bar}", 5061},
		{"{bar}", 5061},
		{"}{bar}", 5061},
	} {
		if got := KeySlot([]byte(tc.key)); got != tc.want {
			t.Errorf("KeySlot(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
	if KeySlot([]byte("foo{}{bar}")) == KeySlot([]byte("bar")) {
		t.Errorf("foo{}{bar} hashes its second braces as a tag")
	}
	if KeySlot([]byte("foo{{bar}}zap")) != KeySlot([]byte("{bar")) {
		t.Errorf("foo{{bar}}zap does not hash \"{bar\"")
	}
}

func TestKeySlotAllocates(t *testing.T) {
	key := []byte("{user1000}.following")
	if n := testing.AllocsPerRun(100, func() { KeySlot(key) }); n != 0 {
		t.Fatalf("KeySlot allocates %v times", n)
	}
}
