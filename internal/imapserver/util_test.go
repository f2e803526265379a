package imapserver_test

import (
	"errors"
	"net"
	"strconv"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func netDial(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func itoa(n int) string { return strconv.Itoa(n) }
