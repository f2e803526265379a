#!/usr/bin/env bash
# Runs the accounts workload (many accounts on one node: letterbox with
# SQLite and Dovecot, each with -accounts accounts of -per-account
# messages, then account opening, STATUS, POP3 and -sessions IDLE sessions
# at once, timed and checked); the same as ./bench/run.sh -workload
# accounts. Flags go to the Go program: -accounts, -per-account,
# -sessions, -account-sample, -cli-sample, -idle-wait, -rounds, -c, -seed,
# -argon2, -letterbox-bin, -letterbox-set, -keep. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench -workload accounts "$@"
