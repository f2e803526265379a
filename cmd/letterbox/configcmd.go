package main

import (
	"fmt"

	"github.com/letterbox/letterbox/internal/config"
)

func init() {
	register(&command{
		name:    "config",
		summary: "show or check the configuration",
		subs: []*command{
			{name: "defaults", summary: "print the whole config file with every default, commented", run: configDefaults},
			{name: "check", summary: "validate the config file", run: configCheck},
		},
	})
}

func configDefaults(e *env, args []string) error {
	fs, _ := newFlagSet(e, "config defaults")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	_, err = fmt.Fprint(e.stdout, config.DefaultsTOML())
	return err
}

func configCheck(e *env, args []string) error {
	fs, common := newFlagSet(e, "config check")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	if s.configPath == "" {
		fmt.Fprintf(e.stdout, "no config file (%s/%s absent): running on defaults; data in %s\n", s.dataDir, configFileName, s.dataDir)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: ok; data in %s; store: %s\n", s.configPath, s.dataDir, s.storeDescription())
	return nil
}
