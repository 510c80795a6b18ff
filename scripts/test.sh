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
MV_SKIP_INTEGRATION=1 to skip them. Exit status: ctest's.
EOF
	exit 0 ;;
esac

"$HERE/setup.sh"
cd "$SRC"
exec ctest --test-dir build --output-on-failure "$@"
