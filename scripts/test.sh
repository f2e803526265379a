#!/usr/bin/env bash
# The whole letterbox test suite, one command:
#
#   ./scripts/test.sh
#
# 1. Debian packages for the e2e clients (installed when running as root).
# 2. go vet, including the e2e package.
# 3. go test -race on the packages where concurrency lives (store, servers),
#    go test on the rest.
# 4. A short fuzz run (FUZZTIME, default 10s) of every Fuzz target.
# 5. The e2e tests: the built binary against real clients.
#
# Every step runs even when an earlier one failed; the exit status is
# non-zero when any failed. Environment: FUZZTIME (default 10s), E2E_RUN
# (a -run pattern for the e2e tests), CI=true (a missing client fails).
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10s}
failed=()
passed=()

step() {
	local name=$1
	shift
	echo
	echo "=== step: $name"
	local t0=$SECONDS
	if "$@"; then
		passed+=("$name")
		echo "=== step $name: ok ($((SECONDS - t0))s)"
	else
		failed+=("$name")
		echo "=== step $name: FAILED ($((SECONDS - t0))s)"
	fi
}

all_pkgs() { go list ./... | grep -v '/e2e$'; }
race_pkgs() { all_pkgs | grep -E '/internal/(store(/.*)?|[a-z0-9]*server)$'; }
plain_pkgs() { all_pkgs | grep -v -E '/internal/(store(/.*)?|[a-z0-9]*server)$'; }

vet() {
	go vet ./... && go vet -tags e2e ./e2e/
}

unit_race() {
	local pkgs
	pkgs=$(race_pkgs)
	[ -n "$pkgs" ] || { echo "no store/server packages yet"; return 0; }
	# shellcheck disable=SC2086
	go test -race -count=1 -timeout 15m $pkgs
}

unit_rest() {
	# shellcheck disable=SC2086
	go test -count=1 -timeout 6m $(plain_pkgs) &&
		# The forked go-smtp (third_party/go-smtp/LETTERBOX.md) is a module
		# of its own, outside ./...
		(cd third_party/go-smtp && go test -count=1 ./...)
}

# fuzz_one runs one target. On a loaded machine Go's fuzz engine may end a
# run with "context deadline exceeded" when the time is up while a worker
# is busy, without any failing input: that run is repeated once. A real
# failure (Go writes the failing input to testdata/fuzz) is never retried.
fuzz_one() {
	local pkg=$1 name=$2 log
	log=$(mktemp)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$log"
	local st=${PIPESTATUS[0]}
	if [ "$st" != 0 ] && grep -q "context deadline exceeded" "$log" && ! grep -q "Failing input written" "$log"; then
		echo "fuzz: $name stopped on Go's end-of-run deadline with no failing input; running it once more"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
		st=$?
	fi
	rm -f "$log"
	return "$st"
}

fuzz() {
	local rc=0 pkg name n=0
	for pkg in $(all_pkgs); do
		for name in $(go test -list '^Fuzz' -run '^$' "$pkg" 2>/dev/null | grep '^Fuzz'); do
			n=$((n + 1))
			echo "--- fuzz $pkg $name ($FUZZTIME)"
			fuzz_one "$pkg" "$name" || rc=1
		done
	done
	echo "fuzz targets run: $n"
	return $rc
}

e2e() {
	go test -tags e2e -count=1 -timeout 15m -v -run "${E2E_RUN:-.}" ./e2e/ 2>&1 |
		grep --line-buffered -v -E '^=== (RUN|PAUSE|CONT)'
}

step "debian packages" ./scripts/install-deps.sh
step "go vet" vet
step "go test -race (store, servers)" unit_race
step "go test (rest)" unit_rest
step "fuzz" fuzz
step "e2e" e2e

echo
echo "=== summary: passed: ${passed[*]:-none}"
[ ${#failed[@]} -eq 0 ] || echo "=== summary: FAILED: ${failed[*]}"
echo "steps: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
