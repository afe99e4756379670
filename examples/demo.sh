#!/usr/bin/env bash
# The README's main job: copy the demo repository to a temporary folder, make it a git repository,
# and ask the embedded default model to rename a function there, offline, through `fastapply run`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(mktemp -d "${TMPDIR:-/tmp}/fastapply-demo.XXXXXX")"
cp -R "$here/demo_repo/." "$repo/"
cd "$repo"
git init -q -b main
git add -A
git -c user.name=demo -c user.email=demo@example.invalid commit -qm "demo repository"
echo "demo repository: $repo" >&2
set +e
fastapply run inventory.py -m "${1:-Rename the function add to plus.}" --diff
status=$?
set -e
echo "fastapply run exited with $status (0 ok, 3 refused for safety, 4 engine/model failure)" >&2
git --no-pager diff --stat
exit $status
