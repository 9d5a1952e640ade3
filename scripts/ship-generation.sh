#!/bin/sh
# Ship the writer's current index generation to a replica's index folder and switch to it.
#
#   scripts/ship-generation.sh WRITER_INDEX REPLICA_INDEX
#
# Both are paths on this machine (the replica's may be a mount). The copy is taken while the
# writer lock (WRITER_INDEX/LOCK) is held, so no `kb index` or `kb add` commits into the
# generation mid-copy (they wait with --wait, or stop with exit code 2). It lands in a hidden
# folder of the replica's index, which scripts/replica-switch.sh then makes current. For a
# replica on another host, see docs/scaling.md: rsync over ssh, then replica-switch.sh there.
set -eu

writer=${1:?usage: ship-generation.sh WRITER_INDEX REPLICA_INDEX}
replica=${2:?usage: ship-generation.sh WRITER_INDEX REPLICA_INDEX}
incoming="$replica/.incoming-$$"
mkdir -p "$replica"
flock "$writer/LOCK" sh -c '
    gen=$(cat "$1/CURRENT")
    case "$gen" in gen-[0-9]*) ;; *) echo "ship-generation: no current generation in $1" >&2; exit 2;; esac
    cp -a "$1/$gen" "$2"
' ship "$writer" "$incoming"
exec "$(dirname "$0")/replica-switch.sh" "$replica" "$incoming"
