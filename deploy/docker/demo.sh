#!/bin/sh
# The compose demo (compose.yaml): the sandbox's emulated Zendesk, Jira Cloud and Jira Data
# Center on 127.0.0.1 in this container, then plan, run, and a second run that changes nothing,
# through the real adapters. With ESCALATE_STATE_URL set, the connector's state (lock, owed
# comments, history cache, audit log, run records) goes to that PostgreSQL database.
set -eu
dir=${SANDBOX_DIR:-/tmp/sandbox}
mkdir -p "$dir"
escalate sandbox serve --dir "$dir" --tickets "${SANDBOX_TICKETS:-300}" >"$dir/serve.log" 2>&1 &
serve=$!
trap 'kill "$serve" 2>/dev/null || :' EXIT
waited=0
until grep -q "Ctrl-C stops the sandbox" "$dir/serve.log"; do
    if ! kill -0 "$serve" 2>/dev/null || [ "$waited" -ge 600 ]; then
        echo "demo: the sandbox did not start:" >&2
        cat "$dir/serve.log" >&2
        exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
done
config="$dir/escalate.yaml"
if [ -n "${ESCALATE_STATE_URL:-}" ]; then
    printf 'state:\n  url: %s\n  password: {env: ESCALATE_STATE_PASSWORD}\n' \
        "$ESCALATE_STATE_URL" >>"$config"
fi
echo "\$ escalate plan"
escalate plan -c "$config" --format json --out "$dir/plan.json"
echo "\$ escalate run"
escalate run -c "$config"
echo "\$ escalate run    # again: nothing left to change"
escalate run -c "$config"
