#!/bin/sh
# Switch a read-only replica to a generation copied into its index folder.
#
#   scripts/replica-switch.sh REPLICA_INDEX INCOMING
#
# INCOMING is a complete copy of a writer's generation folder, already inside REPLICA_INDEX
# (same file system), for example `.incoming-gen-000004` as scripts/ship-generation.sh or
# rsync left it. It is renamed to the replica's next generation name, PREVIOUS is set to the
# generation now serving and CURRENT is replaced by a rename (atomic: readers see the old name
# or the new one). `kb serve` on the replica notices within a second and answers from the new
# generation; requests in flight finish on the old one. Generations other than CURRENT and
# PREVIOUS are then removed: the server left them at the switch before this one.
# Run it on the replica, never on the writer's index (its `kb index` keeps its own pointers).
set -eu

index=${1:?usage: replica-switch.sh REPLICA_INDEX INCOMING}
incoming=${2:?usage: replica-switch.sh REPLICA_INDEX INCOMING}
cd "$index"
incoming=$(basename "$incoming")
[ -d "$incoming" ] || { echo "replica-switch: no folder $incoming in $index" >&2; exit 2; }

# The next generation number: one more than any generation here.
last=$(ls -d gen-[0-9]* 2>/dev/null | sed 's/^gen-0*//' | sort -n | tail -n 1)
next=$(printf 'gen-%06d' $(( ${last:-0} + 1 )))
sync "$incoming"/* 2>/dev/null || sync
mv "$incoming" "$next"

current=$(cat CURRENT 2>/dev/null || true)
if [ -n "$current" ] && [ -d "$current" ]; then
    printf '%s\n' "$current" > ".PREVIOUS.tmp-$$"
    mv -f ".PREVIOUS.tmp-$$" PREVIOUS
fi
printf '%s\n' "$next" > ".CURRENT.tmp-$$"
sync ".CURRENT.tmp-$$"
mv -f ".CURRENT.tmp-$$" CURRENT

previous=$(cat PREVIOUS 2>/dev/null || true)
for gen in gen-[0-9]*; do
    [ -d "$gen" ] || continue
    [ "$gen" = "$next" ] || [ "$gen" = "$previous" ] || rm -rf "$gen"
done
echo "$index: serving $next (previous: ${previous:-none})"
