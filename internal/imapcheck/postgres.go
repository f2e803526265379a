package imapcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store/postgres"
)

// StartPostgres runs nodes IMAP servers, each over its own postgres Store
// on dsn (one database schema, so they share everything but the process).
func StartPostgres(ctx context.Context, dsn string, nodes int, spoolDir func() string) (*Cluster, error) {
	c := newCluster()
	for i := 0; i < nodes; i++ {
		node := fmt.Sprintf("node%c", 'A'+i)
		st, err := postgres.Open(ctx, postgres.Options{
			DSN: dsn, SpoolDir: spoolDir(),
			Logger: slog.New(slog.NewTextHandler(c.Log.writer(node+"-store"), &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("postgres node %s: %w", node, err)
		}
		c.closers = append(c.closers, func() { st.Close() })
		if i == 0 {
			if err := createAccount(ctx, st); err != nil {
				c.Close()
				return nil, err
			}
		}
		if err := c.serveIMAP(st, node); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// FreshSchema creates an empty schema in the database of base and returns
// a DSN whose search_path is that schema, and a function dropping it.
func FreshSchema(ctx context.Context, base string) (dsn string, drop func() error, err error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "lbcheck_" + hex.EncodeToString(rnd[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to the test database: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() error {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), drop, nil
	}
	return base + " search_path=" + schema, drop, nil
}
