package server_test

import (
	"path/filepath"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestBackupTo makes a native backup with BACKUP TO, starts a second
// server from it with the same contents, and refuses a folder that
// exists and a malformed call.
func TestBackupTo(t *testing.T) {
	s := testutil.Start(t, nil)
	c := testutil.Client(t, s, 2)
	ctx := testutil.Ctx(t)
	fillEveryEncoding(t, s.Addr())
	want := datasets(t, s.Addr())
	dir := filepath.Join(t.TempDir(), "backup")
	if err := c.Do(ctx, "BACKUP", "TO", dir).Err(); err != nil {
		t.Fatal(err)
	}
	// Writes after the backup are not in it.
	c.Set(ctx, "later", "x", 0)

	cfg := testutil.Config(t)
	cfg.Dir = dir
	b := testutil.Start(t, cfg)
	sameDatasets(t, "a server started from BACKUP TO's folder", want, datasets(t, b.Addr()))
	if n := testutil.Client(t, b, 2).Exists(ctx, "later").Val(); n != 0 {
		t.Error("a write after BACKUP TO is in the backup")
	}

	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"BACKUP", "TO", dir}, "ERR Backup folder '" + dir + "' already exists"},
		{[]any{"BACKUP", "INTO", dir + "2"}, "ERR syntax error"},
		{[]any{"BACKUP", "TO"}, "ERR wrong number of arguments for 'backup' command"},
	} {
		if err := c.Do(ctx, tc.args...).Err(); err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %s", tc.args, err, tc.want)
		}
	}
}
