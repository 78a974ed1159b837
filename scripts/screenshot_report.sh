#!/usr/bin/env bash
# Render a report directory's report.html to a PNG with headless Chromium, to check the report
# as a reader sees it (figures load, tables fit) on a machine without a display.
#
#   scripts/screenshot_report.sh REPORT_DIR OUT.png [WIDTH,HEIGHT]
#
# Needs Debian's chromium (apt-get install -y chromium). Networking and background services are
# switched off: the report is self-contained and must render offline.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 REPORT_DIR OUT.png [WIDTH,HEIGHT]  (default window 1280,2400)" >&2
    exit 2
fi
report_dir=$1
out_png=$2
window_size=${3:-1280,2400}

html_file="$report_dir/report.html"
if [[ ! -f "$html_file" ]]; then
    echo "error: $html_file not found; pass a directory written by epee.report.write_report." >&2
    exit 1
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "error: chromium not found; install it with: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

html_path=$(realpath "$html_file")
out_path=$(realpath -m "$out_png")
mkdir -p "$(dirname "$out_path")"
rm -f "$out_path"  # so a stale screenshot cannot pass for a new one
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile_dir" --window-size="$window_size" \
    --screenshot="$out_path" "file://$html_path" >"$profile_dir/chromium.log" 2>&1 || true

if [[ ! -s "$out_path" ]]; then
    echo "error: chromium wrote no screenshot to $out_path; its last messages:" >&2
    tail -n 20 "$profile_dir/chromium.log" >&2
    exit 1
fi
echo "$out_path"
