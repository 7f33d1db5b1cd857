package server

import (
	"net"
	"os"
)

// notifySupervisor tells systemd the server's state, as Redis's
// redisCommunicateSystemd does under supervised systemd (or auto, when
// NOTIFY_SOCKET is set): a datagram of sd_notify's assignments on
// NOTIFY_SOCKET. Upstart's supervision (a SIGSTOP when ready) is not
// done, and said so at start.
func (s *Server) notifySupervisor(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" || s.supervisedMode() != "systemd" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		s.log.Warn("Can't connect to systemd socket", "addr", addr, "err", err)
		return
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		s.log.Warn("Can't send notification to systemd", "err", err)
	}
}

// supervisedMode is INFO's process_supervised, as Redis's
// redisIsSupervised decides it: supervised's value, or for auto upstart
// when UPSTART_JOB is set, systemd when NOTIFY_SOCKET is.
func (s *Server) supervisedMode() string {
	switch mode := s.Config().Supervised; {
	case mode != "auto":
		return mode
	case os.Getenv("UPSTART_JOB") != "":
		return "upstart"
	case os.Getenv("NOTIFY_SOCKET") != "":
		return "systemd"
	}
	return "no"
}
