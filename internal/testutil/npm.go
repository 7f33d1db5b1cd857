package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireNodeModules returns node's path and a node_modules folder (for
// NODE_PATH) holding the npm packages that dir's package.json and
// package-lock.json pin. They are installed with `npm ci` once per lock
// file, under the user's cache folder (shoal-npm/<lock hash>), never in
// the repository. The test skips without node and npm, or when npm
// cannot install them (no registry), unless SHOAL_REQUIRE_TOOLS=1 makes
// that a failure.
func RequireNodeModules(t testing.TB, dir string) (node, modules string) {
	t.Helper()
	node = RequireTool(t, "node")
	npm := RequireTool(t, "npm")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(append(pkg, lock...))
	root := filepath.Join(cache, "shoal-npm", hex.EncodeToString(sum[:8]))
	modules = filepath.Join(root, "node_modules")
	if _, err := os.Stat(filepath.Join(root, "installed")); err == nil {
		return node, modules
	}
	// NB: installed in a folder of its own, then renamed, so that a
	// failed or concurrent install never leaves half a folder in use.
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("SHOAL_REQUIRE_TOOLS") == "1" {
			t.Fatalf("npm ci in %s (SHOAL_REQUIRE_TOOLS=1): %v\n%s", dir, err, out)
		}
		t.Skipf("npm could not install %s's packages: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "installed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, root); err != nil {
		if _, serr := os.Stat(filepath.Join(root, "installed")); serr != nil {
			t.Fatal(err)
		}
		// Another test process installed the same lock file first.
	}
	return node, modules
}
