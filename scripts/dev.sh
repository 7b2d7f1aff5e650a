#!/usr/bin/env bash
# Set-up and entry point for a fresh machine with only Python 3.11:
#   bash scripts/dev.sh run    install, build the index from newsdesk/corpus/ if missing, start the chat UI
#   bash scripts/dev.sh test   install (with test tools and Chromium), run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
VENV=.venv

install() {
  local stamp="$VENV/.installed" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  # Skip when this pyproject.toml is already installed: `run` then starts offline and fast.
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  [ -x "$VENV/bin/python" ] || { echo "set-up: creating the virtual environment $VENV" >&2; "$PY" -m venv "$VENV"; }
  echo "set-up: upgrading pip" >&2
  "$VENV/bin/pip" install -q --upgrade pip
  # torch first and pinned: pip then takes the local CPU build instead of CUDA wheels.
  echo "set-up: installing torch 2.13.0 (CPU build), a few minutes the first time" >&2
  "$VENV/bin/pip" install -q torch==2.13.0
  echo "set-up: installing Newsdesk and its dependencies (pyproject.toml, with test tools)" >&2
  "$VENV/bin/pip" install -q -e ".[dev]"
  echo "$want" > "$stamp"
  echo "set-up: done; later runs skip it until pyproject.toml changes" >&2
}

browser() {
  # Debian's Chromium for the browser tests; Playwright must not download its own.
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "set-up: installing Chromium from Debian for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  fi
}

case "${1:-run}" in
  run)
    install
    exec "$VENV/bin/newsdesk" serve "${@:2}"
    ;;
  test)
    install
    browser
    shift || true
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *) echo "usage: bash scripts/dev.sh run|test" >&2; exit 2 ;;
esac
