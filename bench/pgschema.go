package main

// A throwaway PostgreSQL schema for letterbox's postgres driver: the
// driver creates its tables in the connection's search_path, so each
// letterbox under test gets a schema of its own in the database the DSN
// names, dropped afterwards.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultBenchPostgresDSN is the database the test suite uses on this
// machine (docs: LETTERBOX_TEST_POSTGRES_DSN).
const defaultBenchPostgresDSN = "postgres://letterbox:letterbox@127.0.0.1:5432/letterbox_test?sslmode=disable"

// benchPostgresDSN is -postgres-dsn, else $LETTERBOX_TEST_POSTGRES_DSN,
// else the default above.
func benchPostgresDSN(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("LETTERBOX_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return defaultBenchPostgresDSN
}

// pgSchema creates a fresh schema in dsn's database and returns a DSN
// whose search_path is that schema, its name, and drop, which removes it
// with everything in it.
func pgSchema(dsn string) (schemaDSN, name string, drop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("postgres %s: %w", redactDSN(dsn), err)
	}
	defer conn.Close(context.Background())
	name = fmt.Sprintf("bench_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", "", nil, fmt.Errorf("CREATE SCHEMA: %w", err)
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", nil, err
		}
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		schemaDSN = u.String()
	} else {
		schemaDSN = dsn + " search_path=" + name
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
		return err
	}
	return schemaDSN, name, drop, nil
}

// pgSchemaBytes is the on-disk size of every table of schema (with its
// indexes and TOAST).
func pgSchemaBytes(dsn, schema string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'm')`, schema).Scan(&n)
	return n, err
}

func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return "(DSN)"
}
