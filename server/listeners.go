package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/shoaldb/shoal/config"
)

// listeners are the sockets the server accepts clients on: the port's and
// the TLS port's on each bind address, and a Unix socket. CONFIG SET port,
// tls-port and bind replace the TCP ones; the Unix socket is set at start,
// as in Redis.
type listeners struct {
	mu    sync.Mutex
	plain []net.Listener
	tls   []net.Listener
	unix  net.Listener
	// unixPath is the Unix socket's path, which its clients' addresses
	// show.
	unixPath string
	// port is the plain port served, the one taken for port 0.
	port int
}

// listenerKind says what a listener's connections speak.
type listenerKind uint8

const (
	plainListener listenerKind = iota
	tlsListener
	unixListener
)

// plainWanted reports whether cfg asks for plain TCP listeners. Port 0
// beside a TLS port or a Unix socket serves no plain TCP, as in Redis;
// alone, it takes a free port, so that a server always has an address.
func plainWanted(cfg *config.Config) bool {
	return cfg.Port != 0 || (cfg.TLS.Port == 0 && cfg.UnixSocket == "")
}

// listenAtStart opens every listener cfg asks for, TLS configured first
// (a start with a TLS setting Shoal cannot use fails, as Redis's does),
// and records the port taken for port 0 in cfg.
func (s *Server) listenAtStart(cfg *config.Config) error {
	if cfg.TLSEnabled() {
		setup, err := buildTLS(cfg)
		if err != nil {
			s.log.Warn(err.Error())
			return fmt.Errorf("server: Failed to configure TLS. Check logs for more info. (%s)", err)
		}
		s.tls.Store(setup)
	}
	var opened []net.Listener
	fail := func(err error) error {
		closeAll(opened)
		return err
	}
	l := &s.ln
	if plainWanted(cfg) {
		lns, port, err := s.listenTCP(cfg.Bind, cfg.Port, cfg.TCPBacklog)
		if err != nil {
			return err
		}
		l.plain, l.port, cfg.Port = lns, port, port
		opened = append(opened, lns...)
	}
	if cfg.TLS.Port != 0 {
		lns, _, err := s.listenTCP(cfg.Bind, cfg.TLS.Port, cfg.TCPBacklog)
		if err != nil {
			return fail(err)
		}
		l.tls = lns
		opened = append(opened, lns...)
	}
	if cfg.UnixSocket != "" {
		ln, err := listenUnix(cfg.UnixSocket, cfg.UnixSocketPerm)
		if err != nil {
			return fail(err)
		}
		l.unix, l.unixPath = ln, cfg.UnixSocket
	}
	if len(opened) == 0 && l.unix == nil {
		s.log.Warn("Configured to not listen anywhere, exiting.")
		return errors.New("server: Configured to not listen anywhere, exiting.")
	}
	s.repl.SetConfig(s.replConfig(cfg))
	return nil
}

// listenTCP opens a listener on each of bind's addresses at port, with
// backlog pending connections at most (tcp-backlog), as Redis's
// listenToPort: an address with a colon is IPv6 ("::*" every one, the
// socket IPv6 only), one without IPv4 ("*" every one). An address the
// machine does not have is passed over when it is marked optional ("-"),
// one of a family or protocol the machine lacks always, with Redis's
// warning. Port 0 takes a free one, which every address then serves, and
// which listenTCP returns.
func (s *Server) listenTCP(bind []string, port, backlog int) ([]net.Listener, int, error) {
	var lns []net.Listener
	for _, addr := range bind {
		optional := strings.HasPrefix(addr, "-")
		host := trimBindPrefix(addr)
		network := "tcp4"
		if strings.Contains(host, ":") {
			network = "tcp6"
		}
		switch host {
		case "*":
			host = "0.0.0.0"
		case "::*":
			host = "::"
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			s.log.Warn(fmt.Sprintf("Warning: Could not create server TCP listening socket %s:%d: %v", trimBindPrefix(addr), port, err))
			if optional && errors.Is(err, syscall.EADDRNOTAVAIL) || missingFamily(err) {
				continue
			}
			closeAll(lns)
			return nil, 0, fmt.Errorf("server: listen on %s:%d: %w", host, port, err)
		}
		setBacklog(ln, backlog)
		if port == 0 {
			// Every address serves the port the first one got, and
			// replicas announce it to their primary.
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, port, nil
}

// missingFamily reports whether a listen failed for a protocol or an
// address family the machine lacks (no IPv6), which Redis passes over.
func missingFamily(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOPROTOOPT, syscall.EPROTONOSUPPORT, syscall.ESOCKTNOSUPPORT, syscall.EPFNOSUPPORT, syscall.EAFNOSUPPORT} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// setBacklog makes backlog the listener's queue of pending connections,
// as Redis's listen(fd, tcp-backlog): Go listens with the system's
// maximum, and a second listen on the socket changes it (the kernel caps
// it at net.core.somaxconn).
func setBacklog(ln net.Listener, backlog int) {
	sc, ok := ln.(syscall.Conn)
	if !ok || backlog <= 0 {
		return
	}
	if raw, err := sc.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { syscall.Listen(int(fd), backlog) })
	}
}

// listenUnix serves a Unix socket at path, removing what a server that
// did not close left there, as Redis does; perm, in octal, sets the
// socket's permissions unless it is 0. The socket's file goes when the
// listener closes.
func listenUnix(path, perm string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("server: unixsocket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("server: unixsocket %s: %w", path, err)
	}
	if mode, _ := strconv.ParseUint(perm, 8, 32); mode != 0 {
		if err := os.Chmod(path, os.FileMode(mode)); err != nil {
			ln.Close()
			return nil, fmt.Errorf("server: unixsocket %s: %w", path, err)
		}
	}
	return ln, nil
}

// serveAll accepts connections on every listener.
func (l *listeners) serveAll(s *Server) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.serveEach(l.plain, plainListener)
	s.serveEach(l.tls, tlsListener)
	if l.unix != nil {
		s.serveEach([]net.Listener{l.unix}, unixListener)
	}
}

// serveEach accepts connections on lns until each is closed.
func (s *Server) serveEach(lns []net.Listener, kind listenerKind) {
	for _, ln := range lns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ln, kind)
		}()
	}
}

// rebind moves the TCP listeners to next's port, TLS port and bind
// addresses, as CONFIG SET port, tls-port and bind do in Redis. A new
// port opens first, and only then are the old listeners closed; a new
// bind list closes them first, as Redis's changeBindAddr (the port stays,
// and "*" holds every address of it), and opens them again when the new
// one fails. Connections already made stay. Only the listeners whose
// settings changed move.
func (s *Server) rebind(prev, next *config.Config) error {
	bindMoved := !slices.Equal(next.Bind, prev.Bind)
	plainMoved := bindMoved || next.Port != prev.Port || plainWanted(next) != plainWanted(prev)
	tlsMoved := bindMoved || next.TLS.Port != prev.TLS.Port
	refuse := func(arg string, err error) error {
		s.log.Warn("CONFIG SET could not listen", "err", err)
		reason := "Unable to listen on this port. Check server logs."
		if bindMoved {
			arg, reason = "bind", "Failed to bind to specified addresses."
		}
		return &config.SetError{Arg: arg, Reason: reason}
	}
	l := &s.ln
	if bindMoved && next.Port == 0 && prev.Port == 0 && plainWanted(next) && l.port != 0 {
		// NB: a port 0 that took a free one keeps it when bind moves.
		prev, next = prev.Clone(), next.Clone()
		prev.Port, next.Port = l.port, l.port
	}
	var old []net.Listener
	take := func() {
		l.mu.Lock()
		if plainMoved {
			old, l.plain = append(old, l.plain...), nil
		}
		if tlsMoved {
			old, l.tls = append(old, l.tls...), nil
		}
		l.mu.Unlock()
	}
	if bindMoved {
		take()
		closeAll(old)
		old = nil
	}
	plain, tlsLns, port, arg, err := s.listenMoved(next, plainMoved, tlsMoved)
	if err != nil {
		if bindMoved {
			// As Redis, which restores the old bind addresses.
			plain, tlsLns, _, _, _ = s.listenMoved(prev, plainMoved, tlsMoved)
			s.serveMoved(plain, tlsLns)
		}
		return refuse(arg, err)
	}
	if !bindMoved {
		take()
	}
	s.serveMoved(plain, tlsLns)
	closeAll(old)
	if plainMoved && port != 0 {
		l.port = port
	}
	announced := next.Clone()
	announced.Port = port
	s.repl.SetConfig(s.replConfig(announced))
	return nil
}

// listenMoved opens cfg's plain listeners if plain is set and cfg wants
// them, and its TLS ones if tls is set, returning the plain port; on
// failure it closes what it opened and names the directive that failed.
func (s *Server) listenMoved(cfg *config.Config, plain, tls bool) (plainLns, tlsLns []net.Listener, port int, arg string, err error) {
	port = cfg.Port
	if plain && plainWanted(cfg) {
		if plainLns, port, err = s.listenTCP(cfg.Bind, cfg.Port, cfg.TCPBacklog); err != nil {
			return nil, nil, 0, "port", err
		}
	}
	if tls && cfg.TLS.Port != 0 {
		if tlsLns, _, err = s.listenTCP(cfg.Bind, cfg.TLS.Port, cfg.TCPBacklog); err != nil {
			closeAll(plainLns)
			return nil, nil, 0, "tls-port", err
		}
	}
	return plainLns, tlsLns, port, "", nil
}

// serveMoved makes the listeners listenMoved opened the server's, and
// serves them.
func (s *Server) serveMoved(plain, tlsLns []net.Listener) {
	l := &s.ln
	l.mu.Lock()
	defer l.mu.Unlock()
	if plain != nil {
		l.plain = plain
		s.serveEach(plain, plainListener)
	}
	if tlsLns != nil {
		l.tls = tlsLns
		s.serveEach(tlsLns, tlsListener)
	}
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

func trimBindPrefix(h string) string {
	// redis.conf allows "-::1": an address that may fail to bind.
	if len(h) > 0 && h[0] == '-' {
		return h[1:]
	}
	return h
}

// Addr returns the first plain TCP listening address ("127.0.0.1:6379"),
// or "" when there is none.
func (s *Server) Addr() string { return s.ln.first(plainListener) }

// TLSAddr returns the first TLS listening address, or "".
func (s *Server) TLSAddr() string { return s.ln.first(tlsListener) }

// UnixSocket returns the Unix socket's path, or "".
func (s *Server) UnixSocket() string { return s.ln.first(unixListener) }

func (l *listeners) first(kind listenerKind) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case kind == plainListener && len(l.plain) > 0:
		return l.plain[0].Addr().String()
	case kind == tlsListener && len(l.tls) > 0:
		return l.tls[0].Addr().String()
	case kind == unixListener && l.unix != nil:
		return l.unixPath
	}
	return ""
}

// closeAll closes every listener; the Unix socket's file goes with it.
func (l *listeners) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range slices.Concat(l.plain, l.tls) {
		ln.Close()
	}
	if l.unix != nil {
		l.unix.Close()
	}
}
