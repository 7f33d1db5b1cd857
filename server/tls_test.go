package server_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// startTLS starts a test server with TLS on a free port, beside plain TCP
// on another (port 0 beside a TLS port serves no plain TCP, as in Redis),
// and the test CA's certificates.
func startTLS(t *testing.T, certs *testutil.Certs) *server.Server {
	t.Helper()
	cfg := testutil.Config(t)
	cfg.Port, cfg.TLS.Port = testutil.FreePort(t), testutil.FreePort(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.CACertFile = certs.Cert, certs.Key, certs.CA
	return testutil.Start(t, cfg)
}

func tlsClient(t *testing.T, addr string, tc *tls.Config) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tc, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestTLSClients serves clients over TLS as redis-server with tls-port
// does: a client certificate the CA signed is required by default, checked
// when given under tls-auth-clients optional and not asked for under no;
// tls-protocols bounds the versions; CONFIG SET tls-port moves the
// listener and 0 closes it.
func TestTLSClients(t *testing.T) {
	certs := testutil.MakeCerts(t)
	s := startTLS(t, certs)
	ctx := testutil.Ctx(t)
	addr := s.TLSAddr()
	if addr == "" || s.Addr() == "" {
		t.Fatalf("listening on %q (TLS) and %q (plain)", addr, s.Addr())
	}
	good := certs.ClientConfig(t, certs.Cert, certs.Key)
	c := tlsClient(t, addr, good)
	if err := c.Set(ctx, "k", "over tls", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := testutil.Client(t, s, 2).Get(ctx, "k").Val(); v != "over tls" {
		t.Fatalf("plain GET = %q", v)
	}
	if info := c.ClientInfo(ctx).Val(); info == nil || info.LAddr != addr {
		t.Fatalf("CLIENT INFO over TLS: %+v, want laddr %s", info, addr)
	}

	refused := func(name string, tc *tls.Config) {
		t.Helper()
		if err := tlsClient(t, addr, tc).Ping(ctx).Err(); err == nil {
			t.Fatalf("%s: PING succeeded", name)
		}
	}
	accepted := func(name string, tc *tls.Config) {
		t.Helper()
		if err := tlsClient(t, addr, tc).Ping(ctx).Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	noCert := certs.ClientConfig(t, "", "")
	untrusted := certs.ClientConfig(t, certs.Untrusted, certs.UntrustKey)
	refused("tls-auth-clients yes, no certificate", noCert)
	refused("tls-auth-clients yes, a certificate of another CA", untrusted)
	if err := testutil.Client(t, s, 2).ConfigSet(ctx, "tls-auth-clients", "optional").Err(); err != nil {
		t.Fatal(err)
	}
	accepted("tls-auth-clients optional, no certificate", noCert)
	refused("tls-auth-clients optional, a certificate of another CA", untrusted)
	if err := testutil.Client(t, s, 2).ConfigSet(ctx, "tls-auth-clients", "no").Err(); err != nil {
		t.Fatal(err)
	}
	accepted("tls-auth-clients no, no certificate", noCert)

	plain := testutil.Client(t, s, 2)
	if err := plain.ConfigSet(ctx, "tls-protocols", "TLSv1.3").Err(); err != nil {
		t.Fatal(err)
	}
	old := good.Clone()
	old.MaxVersion = tls.VersionTLS12
	refused("tls-protocols TLSv1.3, a TLS 1.2 client", old)
	accepted("tls-protocols TLSv1.3, a TLS 1.3 client", good)

	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("a connection made before CONFIG SET: %v", err)
	}
	port := testutil.FreePort(t)
	if err := plain.ConfigSet(ctx, "tls-port", strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.TLSAddr(); got != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
		t.Fatalf("TLSAddr after CONFIG SET tls-port = %s", got)
	}
	refused("the old TLS port", good)
	addr = s.TLSAddr()
	accepted("the new TLS port", good)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("a connection made before the move: %v", err)
	}
	if err := plain.ConfigSet(ctx, "tls-port", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.TLSAddr(); got != "" {
		t.Fatalf("TLSAddr after CONFIG SET tls-port 0 = %s", got)
	}
}

// TestTLSRedisCli drives the TLS port with redis-cli --tls, as an operator
// would.
func TestTLSRedisCli(t *testing.T) {
	cli := testutil.RequireTool(t, "redis-cli")
	certs := testutil.MakeCerts(t)
	s := startTLS(t, certs)
	_, port, _ := net.SplitHostPort(s.TLSAddr())
	run := func(args ...string) string {
		t.Helper()
		all := append([]string{"--tls", "--cacert", certs.CA, "--cert", certs.Cert, "--key", certs.Key,
			"-h", "127.0.0.1", "-p", port}, args...)
		out, err := exec.Command(cli, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("SET", "greeting", "hello"); got != "OK" {
		t.Fatalf("SET: %q", got)
	}
	if got := run("GET", "greeting"); got != "hello" {
		t.Fatalf("GET: %q", got)
	}
	out, _ := exec.Command(cli, "--tls", "--cacert", certs.CA, "-h", "127.0.0.1", "-p", port, "PING").CombinedOutput()
	if strings.Contains(string(out), "PONG") {
		t.Fatalf("redis-cli without a client certificate got %q", out)
	}
}

// TestTLSConfigAsRedis sends the same CONFIG SETs of the tls-* directives
// to Shoal and to redis-server 7.0.15 and compares the replies: a TLS
// setting that cannot serve is refused only while TLS is in use, with
// Redis's text and the directive it blames.
func TestTLSConfigAsRedis(t *testing.T) {
	certs := testutil.MakeCerts(t)
	redisSrv := testutil.StartRedisServer(t, t.TempDir())
	shoal := testutil.Start(t, nil)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	cases := [][]string{
		{"tls-cert-file", "/nonexistent"},
		{"tls-cert-file", ""},
		{"tls-port", "FREE"},
		{"tls-cert-file", certs.Cert, "tls-key-file", certs.Key, "tls-ca-cert-file", certs.CA},
		{"tls-port", takenPort},
		{"tls-port", "FREE"},
		{"tls-protocols", "TLSv1.4"},
		{"tls-protocols", "tlsv1.2 TLSv1.3"},
		{"tls-ciphers", "FOO"},
		{"tls-ciphers", "FOO:ECDHE-ECDSA-AES128-GCM-SHA256"},
		{"tls-ciphers", "HIGH:!aNULL"},
		{"tls-ciphers", "DEFAULT"},
		{"tls-ciphersuites", "FOO"},
		{"tls-ciphersuites", "TLS_AES_128_GCM_SHA256:FOO"},
		{"tls-protocols", "TLSv1.2", "tls-ciphers", "FOO"},
		{"tls-dh-params-file", "/nonexistent"},
		{"tls-dh-params-file", certs.CA},
		{"tls-ca-cert-dir", "/nonexistent"},
		{"tls-key-file-pass", "unused"},
		{"tls-auth-clients", "maybe"},
		{"tls-ca-cert-dir", ""},
		{"tls-ca-cert-file", ""},
		{"tls-ca-cert-file", "/nonexistent"},
		{"tls-key-file", "/nonexistent"},
		{"tls-cert-file", certs.Key},
		{"tls-auth-clients", "no", "tls-ca-cert-file", ""},
		{"tls-replication", "yes"},
		{"tls-ca-cert-file", certs.CA, "tls-replication", "yes"},
		{"tls-port", "0"},
		{"tls-session-caching", "no"},
	}
	ctx := testutil.Ctx(t)
	rc, sc := redisSrv.Client(t, 0), testutil.Client(t, shoal, 2)
	for _, args := range cases {
		send := func(c *redis.Client) string {
			cmd := []any{"CONFIG", "SET"}
			for _, a := range args {
				if a == "FREE" {
					a = strconv.Itoa(testutil.FreePort(t))
				}
				cmd = append(cmd, a)
			}
			v, err := c.Do(ctx, cmd...).Result()
			if err != nil {
				return "ERR: " + err.Error()
			}
			return fmt.Sprint(v)
		}
		want, got := send(rc), send(sc)
		if got != want {
			t.Errorf("CONFIG SET %v:\n shoal %q\n redis %q", args, got, want)
		}
	}
	for _, name := range []string{"tls-*"} {
		want, got := rc.ConfigGet(ctx, name).Val(), sc.ConfigGet(ctx, name).Val()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("CONFIG GET %s: shoal %q, redis %q", k, got[k], v)
			}
		}
	}
}

// TestTLSStartRefused: a start whose TLS settings cannot serve fails, as
// redis-server's does, naming what is missing.
func TestTLSStartRefused(t *testing.T) {
	certs := testutil.MakeCerts(t)
	cfg := testutil.Config(t)
	cfg.TLS.Port = testutil.FreePort(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certs.Cert, certs.Key
	s, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Start()
	if err == nil || !strings.Contains(err.Error(), "Failed to configure TLS. Check logs for more info.") ||
		!strings.Contains(err.Error(), "Either tls-ca-cert-file or tls-ca-cert-dir must be specified") {
		t.Fatalf("Start = %v", err)
	}
	bin := testutil.RequireTool(t, "redis-server")
	out, _ := exec.Command(bin, "--port", "0", "--tls-port", strconv.Itoa(cfg.TLS.Port), "--save", "",
		"--tls-cert-file", certs.Cert, "--tls-key-file", certs.Key, "--dir", t.TempDir()).CombinedOutput()
	for _, line := range []string{"Either tls-ca-cert-file or tls-ca-cert-dir must be specified", "Failed to configure TLS. Check logs for more info."} {
		if !strings.Contains(string(out), line) {
			t.Fatalf("redis-server's output lacks %q:\n%s", line, out)
		}
	}
}

// TestTLSEncryptedKey reads a key encrypted with tls-key-file-pass.
func TestTLSEncryptedKey(t *testing.T) {
	openssl := testutil.RequireTool(t, "openssl")
	certs := testutil.MakeCerts(t)
	enc := certs.Dir + "/encrypted.key"
	if out, err := exec.Command(openssl, "pkcs8", "-topk8", "-in", certs.Key, "-out", enc,
		"-v2", "aes-256-cbc", "-passout", "pass:secret").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(enc); !strings.Contains(string(b), "ENCRYPTED PRIVATE KEY") {
		t.Fatalf("openssl wrote no encrypted key:\n%s", b)
	}
	cfg := testutil.Config(t)
	cfg.TLS.Port = testutil.FreePort(t)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.CACertFile = certs.Cert, enc, certs.CA
	cfg.TLS.KeyFilePass = "wrong"
	if s, err := server.New(cfg, server.Options{}); err == nil {
		err = s.Start()
		s.Close()
		if err == nil || !strings.Contains(err.Error(), "Failed to load private key") {
			t.Fatalf("Start with a wrong passphrase = %v", err)
		}
	}
	cfg.TLS.KeyFilePass = "secret"
	s := testutil.Start(t, cfg)
	c := tlsClient(t, s.TLSAddr(), certs.ClientConfig(t, certs.Cert, certs.Key))
	if err := c.Ping(testutil.Ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
}
