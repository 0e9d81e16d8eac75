# Shared by scripts/fuzz.sh and scripts/fuzz-campaign.sh (sourced, not run): the fuzz targets,
# and cargo-fuzz installed when missing and every target built.

# Targets that drive whole requests through in-process actix apps.
SLOW=(authenticate_header authenticate_cookie signed_claims webhook browser)
# Targets that drive the pure layers through the crate's cfg(fuzzing) module.
FAST=(fast_token fast_claims fast_cookies fast_js fast_webhook fast_browser)
# The sanitizer of the build (none: the crate forbids unsafe code; address brings ASan back).
SANITIZER="${FUZZ_SANITIZER:-none}"

# Installs cargo-fuzz from crates.io when missing, then builds every target (release, with
# debug assertions) from the fuzz/ folder. cargo-fuzz needs nightly-only compiler flags: on a
# stable toolchain RUSTC_BOOTSTRAP=1 enables them.
fuzz_build() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || return 1
  fi
  export RUSTC_BOOTSTRAP=1
  echo "== building the fuzz targets (sanitizer: $SANITIZER)"
  cargo fuzz build -O -s "$SANITIZER"
}
