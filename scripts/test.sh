#!/usr/bin/env bash
# Set up, build and run the whole test suite. See --help.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

case "${1:-}" in
-h | --help)
	cat <<'EOF'
Usage: scripts/test.sh [CTEST ARGS...]

Runs scripts/setup.sh (packages, build into build/, guest images), then
  ctest --test-dir build --output-on-failure [CTEST ARGS...]
e.g. scripts/test.sh -L unit     scripts/test.sh -R qemu_boot -V
Integration tests (label integration) run through scripts/with-kvm; set
MV_SKIP_INTEGRATION=1 to skip them.
Without arguments (the whole suite), the unit and integration tiers
first run in an ASan+UBSan build (build-asan/, -DMV_SANITIZE=ON; a
sanitizer report fails the test, also inside the nested VM; all but
integration.host_pressure_test) and every
libFuzzer target runs for MV_FUZZ_SECONDS (default 10) in build-fuzz/
(scripts/fuzz); MV_NO_SANITIZE=1 skips both passes. Exit status:
ctest's (the whole suite's, else the first failing pass).
EOF
	exit 0 ;;
esac

"$HERE/setup.sh"
cd "$SRC"
# with-kvm's reruns in the nested VM, printed at the end (see with-kvm --help)
rm -f build/Testing/nested-reruns.log build-asan/Testing/nested-reruns.log
print_reruns() {
	local f
	for f in build-asan/Testing/nested-reruns.log build/Testing/nested-reruns.log; do
		[ -s "$f" ] || continue
		echo "test.sh: integration tests run twice in the nested VM ($f):"
		sed 's/^/  /' "$f"
	done
}
if [ $# -gt 0 ] || [ "${MV_NO_SANITIZE:-0}" = 1 ]; then
	rc=0
	ctest --test-dir build --output-on-failure "$@" || rc=$?
	print_reruns
	exit "$rc"
fi
# The sanitizer pass runs first so that ctest's closing summary is the whole suite's.
echo "test.sh: unit and integration tiers under ASan+UBSan (build-asan/)"
cmake -S . -B build-asan -DMV_SANITIZE=ON -DMV_WERROR="${MV_WERROR:-OFF}" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)"
asan_rc=0
# host_pressure_test is left out: once its cgroup reaches memory.high, the
# ASan build stops making any progress (no PSI event, no output) until the
# test's timeout, while the plain build is throttled, sees the event and
# goes on; see docs/testing.md.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -L '^(unit|integration)$' \
	-E '^integration[.]host_pressure_test$' || asan_rc=$?
echo "test.sh: fuzz targets, ${MV_FUZZ_SECONDS:-10} s each (build-fuzz/)"
fuzz_rc=0
"$HERE/fuzz" --seconds "${MV_FUZZ_SECONDS:-10}" || fuzz_rc=$?
[ "$asan_rc" != 0 ] || asan_rc=$fuzz_rc
echo "test.sh: whole suite (build/)"
rc=0
ctest --test-dir build --output-on-failure || rc=$?
[ "$rc" != 0 ] || rc=$asan_rc
print_reruns
exit "$rc"
