#!/usr/bin/env bash
# Installs the two real CyberTipline clients the tests file through /ispws with, when this machine
# can run them: ncmec-cybertip (Python 3.13 or newer, in a virtualenv of its own at $1/python) and
# @civitai/cybertipline-tools (Node.js, into tests/clients/node_modules). Locked versions only.
# Says what it skipped; the tests that need a client skip with the same reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: install.sh DEST}
mkdir -p "$dest"

python=""
for candidate in python3.14 python3.13; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; assert sys.version_info >= (3, 13)' 2>/dev/null; then
    python=$(command -v "$candidate"); break
  fi
done
if [ -z "$python" ] && command -v pyenv >/dev/null; then
  for candidate in "$(pyenv root)"/versions/3.1[3-9]*/bin/python3; do
    [ -x "$candidate" ] && python=$candidate
  done
fi
if [ -n "$python" ]; then
  if [ ! -x "$dest/python/bin/python" ]; then
    "$python" -m venv "$dest/python"
  fi
  "$dest/python/bin/pip" install -q --disable-pip-version-check --require-hashes \
    -r "$here/requirements-python.txt" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "test client ncmec-cybertip installed with $("$dest/python/bin/python" --version)"
else
  echo "no Python 3.13 or newer here: the tests with the ncmec-cybertip client will skip"
fi

if command -v npm >/dev/null; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "test client @civitai/cybertipline-tools installed with Node.js $(node --version)"
else
  echo "no npm here: the tests with the @civitai/cybertipline-tools client will skip"
fi
