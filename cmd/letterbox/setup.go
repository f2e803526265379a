package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/config"
)

// defaultDataDir is used when neither --data, $LETTERBOX_DATA nor a config
// file's data_dir says otherwise.
const defaultDataDir = "./letterbox-data"

// configFileName is looked for in the data directory.
const configFileName = "letterbox.toml"

// cheapHashEnv, set to 1, selects auth.TestParams (tests only).
const cheapHashEnv = "LETTERBOX_TEST_CHEAP_HASH"

// commonFlags are the flags every verb takes.
type commonFlags struct {
	data   string
	config string
}

// newFlagSet makes a verb's flag set with the common flags.
func newFlagSet(e *env, name string) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet("letterbox "+name, flag.ContinueOnError)
	// Errors are reported by run with the verb's usage line; -h prints the
	// flags (see parseArgs).
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c := &commonFlags{}
	fs.StringVar(&c.data, "data", "", "data directory (default $LETTERBOX_DATA or "+defaultDataDir+")")
	fs.StringVar(&c.config, "config", "", "config file (default DATA/"+configFileName+" when present)")
	return fs, c
}

// parseArgs parses flags anywhere among the arguments ("user add alice
// --data d" works as well as "user add --data d alice") and returns the
// positional ones. "--" ends flag parsing.
func parseArgs(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(e.stdout, "usage: %s [flags] [arguments]\n", fs.Name())
				fs.SetOutput(e.stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// setup is what a verb knows after resolving the data directory and config.
type setup struct {
	dataDir    string
	configPath string // "" when running on defaults
	cfg        config.Config
}

// resolve finds the data directory and loads the config, the same way for
// every verb.
func (c *commonFlags) resolve(e *env) (*setup, error) {
	s := &setup{cfg: config.Defaults()}
	s.cfg.ApplyEnv(e.getenv)
	dir := c.data
	if dir == "" {
		dir = e.getenv("LETTERBOX_DATA")
	}
	s.configPath = c.config
	if s.configPath == "" {
		candidate := filepath.Join(orDefault(dir, defaultDataDir), configFileName)
		if _, err := os.Stat(candidate); err == nil {
			s.configPath = candidate
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if s.configPath != "" {
		cfg, err := config.LoadEnv(s.configPath, e.getenv)
		if err != nil {
			return nil, err
		}
		s.cfg = cfg
	}
	if dir == "" {
		dir = orDefault(s.cfg.DataDir, defaultDataDir)
	}
	s.dataDir = dir
	return s, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// passwordParams are the argon2id parameters for new hashes.
func (s *setup) passwordParams(e *env) auth.Params {
	if e.getenv(cheapHashEnv) == "1" {
		return auth.TestParams
	}
	return s.cfg.PasswordParams()
}

// newLogger logs to stderr at the configured level.
// newLevelLogger is newLogger with its level in a LevelVar that a reload
// (SIGHUP) can change.
func newLevelLogger(w io.Writer, level string) (*slog.Logger, *slog.LevelVar) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	v := new(slog.LevelVar)
	v.Set(l)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: v})), v
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
