// Command letterbox is the mail server and its administration tool: one
// binary, wiring only. Each verb group lives in its own file and registers
// itself in the command table (see register).
//
//	letterbox serve [--data DIR] [--config FILE]
//	letterbox user add|passwd|del|list ...
//	letterbox config defaults|check
//	letterbox import ACCOUNT SOURCE, letterbox export ACCOUNT DIR (docs/IMPORT.md)
//	letterbox version
//
// Every verb finds the data directory the same way: --data, else
// $LETTERBOX_DATA, else the config file's data_dir (with --config), else
// ./letterbox-data. The config file is --config, else DATA/letterbox.toml
// when it exists.
//
// Environment for tests: LETTERBOX_TEST_CHEAP_HASH=1 makes `user add` and
// `user passwd` hash with auth.TestParams (cheap, insecure) and makes `serve`
// use them for its unknown-user dummy hash, so test suites stay fast. Never
// set it on a real server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// env is what a command may touch of the outside world; tests run commands
// in-process with their own.
type env struct {
	ctx    context.Context // cancelled on SIGINT/SIGTERM
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one verb. A verb with subcommands dispatches to them.
type command struct {
	name    string
	usage   string // arguments after the verb, for help
	summary string
	run     func(e *env, args []string) error
	subs    []*command
}

// commands is the table of top-level verbs; each file adds its verbs with
// register from an init function.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("letterbox: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError is an error in how the command was called; run prints the
// verb's usage line after it.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(&env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args and returns the exit status: 0 ok, 1 failure, 2 usage.
func run(e *env, args []string) int {
	// Global flags may come before the verb ("letterbox --data DIR user list");
	// they are handed on to it.
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		if a == "-h" || a == "-help" || a == "--help" {
			printUsage(e.stdout)
			return 0
		}
		global = append(global, a)
		args = args[1:]
		if !strings.Contains(a, "=") && len(args) > 0 && isValueFlag(a) {
			global = append(global, args[0])
			args = args[1:]
		}
	}
	if len(args) == 0 {
		printUsage(e.stderr)
		return 2
	}
	cmd, path, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(e.stderr, "letterbox: unknown command %q\n\n", strings.Join(args[:min(len(args), 2)], " "))
		printUsage(e.stderr)
		return 2
	}
	if cmd.run == nil {
		fmt.Fprintf(e.stderr, "letterbox %s: missing subcommand\n\n", path)
		printSubUsage(e.stderr, path, cmd)
		return 2
	}
	err := cmd.run(e, append(global, rest...))
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "letterbox %s: %v\nusage: letterbox %s %s\n", path, err, path, cmd.usage)
		return 2
	default:
		fmt.Fprintf(e.stderr, "letterbox %s: %v\n", path, err)
		return 1
	}
}

// isValueFlag reports whether a global flag takes a value argument.
func isValueFlag(a string) bool {
	name := strings.TrimLeft(a, "-")
	return name == "data" || name == "config"
}

// lookup walks the command table: "user add x" finds user → add.
func lookup(args []string) (cmd *command, path string, rest []string) {
	cmd = commands[args[0]]
	if cmd == nil {
		return nil, "", nil
	}
	path, rest = cmd.name, args[1:]
	for len(cmd.subs) > 0 && len(rest) > 0 {
		var next *command
		for _, s := range cmd.subs {
			if s.name == rest[0] {
				next = s
			}
		}
		if next == nil {
			return nil, "", nil
		}
		cmd, path, rest = next, path+" "+next.name, rest[1:]
	}
	return cmd, path, rest
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: letterbox <command> [flags] [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		if len(c.subs) == 0 {
			fmt.Fprintf(w, "  %-36s %s\n", strings.TrimSpace(c.name+" "+c.usage), c.summary)
			continue
		}
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-36s %s\n", strings.TrimSpace(c.name+" "+s.name+" "+s.usage), s.summary)
		}
	}
	fmt.Fprintln(w, "\nEvery command takes --data DIR (default $LETTERBOX_DATA or ./letterbox-data)")
	fmt.Fprintln(w, "and --config FILE (default DIR/letterbox.toml when present).")
}

func printSubUsage(w io.Writer, path string, c *command) {
	for _, s := range c.subs {
		fmt.Fprintf(w, "  letterbox %-28s %s\n", strings.TrimSpace(path+" "+s.name+" "+s.usage), s.summary)
	}
}

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or "devel".
var version = ""

func init() {
	register(&command{name: "version", summary: "print the version", run: printVersion})
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func printVersion(e *env, args []string) error {
	fs, _ := newFlagSet(e, "version")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	_, err = fmt.Fprintf(e.stdout, "letterbox %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
