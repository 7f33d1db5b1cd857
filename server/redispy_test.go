package server_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/internal/testutil"
)

// redisPyScript uses redis-py's scripting helpers as a program would:
// register_script (EVALSHA, falling back to EVAL on NOSCRIPT), the script
// cache, functions, and the errors it raises.
const redisPyScript = `
import sys, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
release = r.register_script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0""")
r.set('lock', 'token-1')
assert release(keys=['lock'], args=['token-2']) == 0
assert release(keys=['lock'], args=['token-1']) == 1
assert r.exists('lock') == 0
assert r.script_exists(release.sha) == [True]
r.script_flush()
assert r.script_exists(release.sha) == [False]
assert release(keys=['lock'], args=['x']) == 0  # NOSCRIPT, then EVAL
assert r.eval("return {1, 'two', {3}}", 0) == [1, 'two', [3]]
r.set('str', 'x')
try:
    r.eval("return redis.call('INCR', KEYS[1])", 1, 'str')
    raise SystemExit('no error')
except redis.ResponseError as e:
    assert str(e).startswith('value is not an integer or out of range script: '), str(e)
name = r.function_load("#!lua name=pylib\nredis.register_function('hello', function(keys, args) return 'hello ' .. args[1] end)")
assert name == 'pylib', name
assert r.fcall('hello', 0, 'py') == 'hello py'
libs = r.function_list()
assert libs[0][:2] == ['library_name', 'pylib'], libs
dump = redis.Redis(host=sys.argv[1], port=int(sys.argv[2])).function_dump()
r.function_flush()
r.function_restore(dump)
assert r.fcall('hello', 0, 'again') == 'hello again'
print('ok')
`

// TestRedisPyScripting drives redis-py (Debian's python3-redis) against
// Shoal's scripting.
func TestRedisPyScripting(t *testing.T) {
	py := testutil.RequireRedisPy(t)
	s := testutil.Start(t, nil)
	host, port, _ := net.SplitHostPort(s.Addr())
	out, err := exec.Command(py, "-c", redisPyScript, host, port).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
}
