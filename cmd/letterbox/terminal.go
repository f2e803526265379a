package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPasswordLine bounds a password read from a pipe.
const maxPasswordLine = 4096

// readNewPassword gets a password for account: prompted twice without echo
// when stdin is a terminal, else the first line of stdin (for scripts:
// `echo pw | letterbox user add alice@example.com`).
func readNewPassword(e *env, account string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(e.stderr, "Password for %s: ", account)
		pw, err := readNoEcho(f)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(e.stderr, "Repeat password: ")
		again, err := readNoEcho(f)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("passwords do not match")
		}
		return checkPassword(pw)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(e.stdin, maxPasswordLine+2), maxPasswordLine+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password from stdin: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) > maxPasswordLine {
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLine)
	}
	return checkPassword(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
}

func checkPassword(pw string) (string, error) {
	switch {
	case pw == "":
		return "", errors.New("empty password")
	case strings.ContainsAny(pw, "\x00\r\n"):
		return "", errors.New("password contains a NUL or line break")
	}
	return pw, nil
}

// readNoEcho reads one line from the terminal f with echo turned off.
func readNoEcho(f *os.File) (string, error) {
	restore, err := disableEcho(f)
	if err != nil {
		return "", err
	}
	defer restore()
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() <= maxPasswordLine {
		n, err := f.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("password longer than %d bytes", maxPasswordLine)
}
