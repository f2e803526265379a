#!/usr/bin/env bash
# Runs the letterbox vs Dovecot benchmark from the repository root.
# Needs Dovecot (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd);
# ./scripts/install-deps.sh installs it when run as root.
# Flags go to the Go program: -n, -c, -mailbox, -size, -repeats, -only, -keep;
# -workload mixed (bench/mixed.sh), reads (bench/reads.sh), scale
# (bench/scale.sh) or accounts (bench/accounts.sh) and theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench "$@"
