package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/youmark/pkcs8"

	"github.com/shoaldb/shoal/config"
)

// tlsSetup is TLS as the tls-* directives configure it: the server's side,
// for the TLS listeners, and the client's, for a replica's link to its
// primary.
type tlsSetup struct {
	server, client *tls.Config
}

// buildTLS configures TLS from cfg's tls-* directives with the checks of
// Redis's tlsConfigure; an error's text is the line Redis logs.
func buildTLS(cfg *config.Config) (*tlsSetup, error) {
	t := cfg.TLS
	switch {
	case t.CertFile == "":
		return nil, errors.New("No tls-cert-file configured!")
	case t.KeyFile == "":
		return nil, errors.New("No tls-key-file configured!")
	case (t.AuthClients != "no" || t.Replication || cfg.Value("tls-cluster") == "yes") &&
		t.CACertFile == "" && t.CACertDir == "":
		return nil, errors.New("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
	}
	minV, maxV, err := tlsProtocols(t.Protocols)
	if err != nil {
		return nil, err
	}
	cert, err := loadKeyPair(t.CertFile, t.KeyFile, t.KeyFilePass)
	if err != nil {
		return nil, err
	}
	clientCert := cert
	if t.ClientCertFile != "" {
		if clientCert, err = loadKeyPair(t.ClientCertFile, t.ClientKeyFile, t.ClientKeyFilePass); err != nil {
			return nil, err
		}
	}
	var cas *x509.CertPool
	if t.CACertFile != "" || t.CACertDir != "" {
		if cas, err = loadCAs(t.CACertFile, t.CACertDir); err != nil {
			return nil, fmt.Errorf("Failed to configure CA certificate(s) file/directory: %w", err)
		}
	}
	if t.DHParamsFile != "" {
		if err := checkDHParams(t.DHParamsFile); err != nil {
			return nil, err
		}
	}
	suites, err := tlsCiphers(t.Ciphers)
	if err != nil {
		return nil, err
	}
	if err := checkCiphersuites(t.Ciphersuites); err != nil {
		return nil, err
	}
	base := &tls.Config{MinVersion: minV, MaxVersion: maxV, CipherSuites: suites}
	server := base.Clone()
	server.Certificates, server.ClientCAs = []tls.Certificate{cert}, cas
	server.SessionTicketsDisabled = !t.SessionCaching
	switch t.AuthClients {
	case "yes":
		server.ClientAuth = tls.RequireAndVerifyClientCert
	case "optional":
		server.ClientAuth = tls.VerifyClientCertIfGiven
	}
	// NB: a replica checks its primary's chain against the CAs but not
	// the name in it, as Redis's OpenSSL context does (SSL_VERIFY_PEER
	// without a host to match).
	client := base.Clone()
	client.Certificates = []tls.Certificate{clientCert}
	client.InsecureSkipVerify = true
	client.VerifyConnection = func(st tls.ConnectionState) error {
		if len(st.PeerCertificates) == 0 {
			return errors.New("tls: the primary sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: cas, Intermediates: x509.NewCertPool()}
		for _, c := range st.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := st.PeerCertificates[0].Verify(opts)
		return err
	}
	return &tlsSetup{server: server, client: client}, nil
}

// tlsProtocols reads tls-protocols as Redis's parseProtocolsConfig does:
// names separated by spaces, in any case; none means TLSv1.2 and TLSv1.3.
// Go's TLS takes a range, from the oldest named to the newest.
func tlsProtocols(s string) (minV, maxV uint16, err error) {
	names := strings.Fields(s)
	if len(names) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	for _, n := range names {
		var v uint16
		switch strings.ToLower(n) {
		case "tlsv1":
			v = tls.VersionTLS10
		case "tlsv1.1":
			v = tls.VersionTLS11
		case "tlsv1.2":
			v = tls.VersionTLS12
		case "tlsv1.3":
			v = tls.VersionTLS13
		default:
			return 0, 0, errors.New("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
		}
		if minV == 0 || v < minV {
			minV = v
		}
		maxV = max(maxV, v)
	}
	return minV, maxV, nil
}

// loadKeyPair reads a certificate chain and its key, the key decrypted
// with pass when it is encrypted (PKCS#8, or the older PEM encryption).
func loadKeyPair(certFile, keyFile, pass string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load certificate: %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err == nil {
		keyPEM, err = decryptKey(keyPEM, pass)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load private key: %s: %w", keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load certificate: %s: %w", certFile, err)
	}
	return cert, nil
}

// decryptKey returns keyPEM's key in the clear: as it is when it is not
// encrypted, else decrypted with pass.
func decryptKey(keyPEM []byte, pass string) ([]byte, error) {
	for rest := keyPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		switch {
		case block == nil:
			return keyPEM, nil // tls.X509KeyPair names what is wrong
		case block.Type == "ENCRYPTED PRIVATE KEY":
			key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, []byte(pass))
			if err != nil {
				return nil, err
			}
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				return nil, err
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
		case strings.HasSuffix(block.Type, "PRIVATE KEY") && x509.IsEncryptedPEMBlock(block):
			// The older PEM encryption (openssl -traditional).
			der, err := x509.DecryptPEMBlock(block, []byte(pass))
			if err != nil {
				return nil, err
			}
			return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
		}
	}
}

// loadCAs reads the certificates of file and of the files in dir (as
// OpenSSL's CApath holds them); a missing dir adds none, as OpenSSL looks
// in it only when it verifies.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no certificate found", file)
		}
	}
	if dir != "" {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Type().IsRegular() {
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					pool.AppendCertsFromPEM(b)
				}
			}
		}
	}
	return pool, nil
}

// checkDHParams checks tls-dh-params-file as Redis reads it. Go's TLS
// offers no DHE suites, so the parameters go unused.
func checkDHParams(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("Failed to load %s: %w", file, err)
	}
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return fmt.Errorf("No valid DH parameters found in %s", file)
		}
		if block.Type == "DH PARAMETERS" || block.Type == "X9.42 DH PARAMETERS" {
			return nil
		}
	}
}

// opensslSuites names Go's TLS 1.0-1.2 cipher suites as OpenSSL does.
var opensslSuites = map[string]uint16{
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// opensslAliases are words of OpenSSL's cipher strings that name groups
// of suites (HIGH, ECDHE+AESGCM's parts): a string of them leaves Go's
// default suites, which are of those groups' strongest.
var opensslAliases = map[string]bool{
	"DEFAULT": true, "ALL": true, "HIGH": true, "MEDIUM": true, "SECURE": true,
	"COMPLEMENTOFDEFAULT": true, "COMPLEMENTOFALL": true, "FIPS": true, "SUITEB128": true,
	"SUITEB192": true, "RSA": true, "ECDHE": true, "EECDH": true, "ECDSA": true,
	"AES": true, "AES128": true, "AES256": true, "AESGCM": true, "CHACHA20": true,
	"SHA": true, "SHA1": true, "SHA256": true, "SHA384": true, "TLSV1.2": true,
	"KECDHE": true, "KEECDH": true, "KRSA": true, "ARSA": true, "AECDSA": true,
}

// tlsCiphers reads tls-ciphers, an OpenSSL cipher string. The suites it
// names are Go's suites for TLS 1.2 and older, in its order; a string of
// OpenSSL's groups and exclusions alone (HIGH:!aNULL) keeps Go's defaults
// (nil). As OpenSSL, it fails when it names nothing it knows.
func tlsCiphers(s string) ([]uint16, error) {
	if s == "" {
		return nil, nil
	}
	var suites []uint16
	known := false
	for _, el := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' }) {
		if id, ok := opensslSuites[el]; ok {
			suites, known = append(suites, id), true
			continue
		}
		switch el[0] {
		case '!', '-', '+', '@':
			continue
		}
		group := true
		for _, w := range strings.Split(el, "+") {
			group = group && opensslAliases[strings.ToUpper(w)]
		}
		known = known || group
	}
	if !known {
		return nil, fmt.Errorf("Failed to configure ciphers: %s", s)
	}
	return suites, nil
}

// checkCiphersuites checks tls-ciphersuites, OpenSSL's TLS 1.3 suites,
// which fail when none is known. Go's TLS 1.3 always offers its three
// suites, so the choice goes unused.
func checkCiphersuites(s string) error {
	if s == "" {
		return nil
	}
	for _, n := range strings.Split(s, ":") {
		switch n {
		case "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
			"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256":
			return nil
		}
	}
	return fmt.Errorf("Failed to configure ciphersuites: %s", s)
}
