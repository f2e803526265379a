#!/usr/bin/env bash
# Runs the reads workload (letterbox vs Dovecot on one big mailbox) from
# the repository root; the same as ./bench/run.sh -workload reads.
# Flags go to the Go program: -quick, -messages, -rounds, -c, -seed,
# -subject, -from, -body, -text, -logins, -login-workers, -login-samples,
# -argon2, -letterbox-bin, -letterbox-set, -letterbox-drivers, -postgres-dsn,
# -keep.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench -workload reads "$@"
