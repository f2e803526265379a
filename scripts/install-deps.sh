#!/usr/bin/env bash
# Installs the Debian packages the test suite and the benchmark use: the real
# mail clients the e2e tests drive, Dovecot for side-by-side comparison,
# PostgreSQL for the multi-node store driver and fail2ban for fail2ban-regex
# (e2e/fail2ban_test.go; on a host running systemd the package also starts
# its service, with Debian's sshd jail). Runs apt-get only as root and
# only when something is missing; otherwise it says what is missing and
# returns (tests for a missing client then skip, or fail under CI=true).
# Then it installs the npm package jmap-jam (the independent JMAP client of
# internal/jmapserver/jam_test.go) into the test cache when node and npm
# are there.
set -euo pipefail

packages=(
	swaks fetchmail getmail6 curl python3 mutt tmux isync offlineimap
	dovecot-imapd dovecot-pop3d dovecot-lmtpd postgresql fail2ban openssl systemd python3-dkim
	nodejs chromium
)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

debian_packages() {
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install these yourself: ${packages[*]}" >&2
	return 0
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all Debian packages present"
	return 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages (run as root to install): ${missing[*]}" >&2
	return 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q "${missing[@]}" </dev/null
}

# jmap-jam for the JMAP tests, where jam_test.go looks for it
# ($XDG_CACHE_HOME or ~/.cache, then letterbox-test-npm).
npm_packages() {
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-deps: npm missing (Debian: apt-get install npm); the jmap-jam tests will skip" >&2
		return 0
	fi
	local dir="${XDG_CACHE_HOME:-$HOME/.cache}/letterbox-test-npm"
	if grep -q '"version": "0.13.1"' "$dir/node_modules/jmap-jam/package.json" 2>/dev/null; then
		echo "install-deps: jmap-jam present"
		return 0
	fi
	echo "install-deps: installing jmap-jam@0.13.1 into $dir"
	npm install --no-audit --no-fund --prefix "$dir" jmap-jam@0.13.1 </dev/null
}

debian_packages
npm_packages
