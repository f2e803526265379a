package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/tlsconfig"
)

// SIGHUP reloads what can change under running sessions and names every
// other changed key as needing a restart. Reloaded:
//   - the certificate (tls.cert_file, tls.key_file, or the same files
//     rewritten after a renewal; a self-signed one is re-read too): new
//     handshakes use it;
//   - log.level;
//   - local_domains (the next RCPT TO sees them).
var reloadableKeys = []string{"tls.cert_file", "tls.key_file", "log.level", "local_domains"}

// live holds the values the running server reads at each use.
type live struct {
	level        *slog.LevelVar
	localDomains atomic.Pointer[[]string]
	tls          *tlsconfig.Reloadable
}

func (l *live) domains() []string {
	if p := l.localDomains.Load(); p != nil {
		return *p
	}
	return nil
}

// watchReload calls reload at each SIGHUP until stop is closed.
func watchReload(stop <-chan struct{}, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-stop:
				return
			case <-hup:
				reload()
			}
		}
	}()
}

// reloadConfig reads the config again (as at start) and applies what it
// can; it returns the keys applied and the changed keys that need a
// restart. cur is updated to the applied values.
func reloadConfig(e *env, common *commonFlags, cur *config.Config, lv *live, hostname, dataDir string) (applied, restart []string, err error) {
	s, err := common.resolve(e)
	if err != nil {
		return nil, nil, err
	}
	next := s.cfg
	changed := changedKeys(*cur, next)
	for _, k := range changed {
		if !slices.Contains(reloadableKeys, k) {
			restart = append(restart, k)
		}
	}
	// The certificate is re-read even when its names did not change: the
	// files are rewritten in place by a renewal.
	if err := lv.tls.Reload(tlsconfig.Options{CertFile: next.TLS.CertFile, KeyFile: next.TLS.KeyFile, DataDir: dataDir, Hostnames: []string{hostname}}); err != nil {
		return nil, restart, fmt.Errorf("certificate not reloaded, the old one stays: %w", err)
	}
	applied = append(applied, "tls")
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(next.Log.Level)); err == nil {
		lv.level.Set(lvl)
		if slices.Contains(changed, "log.level") {
			applied = append(applied, "log.level")
		}
	}
	domains := slices.Clone(next.LocalDomains)
	lv.localDomains.Store(&domains)
	if slices.Contains(changed, "local_domains") {
		applied = append(applied, "local_domains")
	}
	cur.TLS, cur.Log, cur.LocalDomains = next.TLS, next.Log, next.LocalDomains
	return applied, restart, nil
}

// changedKeys lists the dotted TOML keys ("imap.idle_timeout") whose
// values differ between a and b.
func changedKeys(a, b config.Config) []string {
	fa, fb := map[string]string{}, map[string]string{}
	flatten("", reflect.ValueOf(a), fa)
	flatten("", reflect.ValueOf(b), fb)
	var keys []string
	for k, v := range fa {
		if fb[k] != v {
			keys = append(keys, k)
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func flatten(prefix string, v reflect.Value, out map[string]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type().PkgPath() == t.PkgPath() && fv.NumField() > 0 && fv.Type().Field(0).Tag.Get("toml") != "" {
			flatten(key, fv, out)
			continue
		}
		out[key] = fmt.Sprint(fv.Interface())
	}
}
