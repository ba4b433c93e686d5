#!/usr/bin/env bash
# Runs a command with Node 24 on PATH (provisioned from the npm registry when the system Node is older),
# so `npm start` and `npm test` work on a machine that only has an older Node.
. "$(dirname "$0")/node-env.sh" || exit 1
exec "$@"
