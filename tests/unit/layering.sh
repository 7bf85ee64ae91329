#!/usr/bin/env bash
# The include graph keeps DESIGN.md's direction: protocols -> core <- transports.
# A core file includes only core; protocols and transports do not include each
# other; only the umbrella <twine/twine.hpp> (top level) includes all three.
# Fails naming every include that breaks it.
#
#   bash tests/unit/layering.sh [BUILD_DIR]      (BUILD_DIR is unused)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0

# forbid PART PATTERN WHAT: no file under PART may include a header matching
# PATTERN (WHAT names them in the message).
forbid() {
    local part=$1 pattern=$2 what=$3 hits
    hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<twine/($pattern)" \
        --include='*.hpp' --include='*.cpp' "$root/$part" || true)
    if [[ -n $hits ]]; then
        echo "FAIL: $part/ must not include $what:"
        echo "${hits//$root\//  }"
        status=1
    fi
}

forbid core 'transports/|protocols/|twine\.hpp' "transports, protocols or the umbrella"
forbid protocols 'transports/|twine\.hpp' "transports or the umbrella"
forbid transports 'protocols/|twine\.hpp' "protocols or the umbrella"
[[ -f $root/core/twine.hpp ]] && { echo "FAIL: the umbrella header belongs at the top level"; status=1; }

if ((status == 0)); then
    echo "ok: core includes only core; protocols and transports include core, not each other"
fi
exit $status
