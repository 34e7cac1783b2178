#!/usr/bin/env bash
# Fuzz every target (or those named) for SECONDS each, default 600: cargo-fuzz + libFuzzer.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Uses the nightly toolchain if rustup has one; otherwise stable with RUSTC_BOOTSTRAP=1 and no
# sanitizer. New inputs that widen coverage are added to fuzz/corpus/<target>/ (minimize them
# with `cargo fuzz cmin` before committing); crashes land in fuzz/artifacts/<target>/ — copy
# each into fuzz/regressions/<target>/ once fixed, where tests/fuzz_corpus.rs replays it.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  run=(cargo +nightly fuzz run)
else
  export RUSTC_BOOTSTRAP=1
  run=(cargo fuzz run --sanitizer none)
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  "${run[@]}" "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 \
    2>&1 | grep -E '^(#[0-9]+ +DONE|Done|==|INFO: seed corpus)|SUMMARY|panicked' || true
done
