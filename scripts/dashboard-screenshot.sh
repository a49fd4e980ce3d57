#!/usr/bin/env bash
# Screenshots of the staff dashboard, for the README: seeds a demo database through
# `paymedic chat` (conversations and tickets, with claims, replies, closes and ratings), serves
# it with `paymedic web`, and has headless Chromium take each page at desktop (1280 px) and
# phone (390 px) width. The PNGs go to docs/.
#
# Usage: scripts/dashboard-screenshot.sh [OUT_DIR]      (default: docs)
# Needs: chromium (apt-get install chromium), curl. Builds paymedic (debug) if needed.
#
# The token is a throwaway made here. Chromium can't send an Authorization header, so the
# server is started with the hidden --allow-token-link flag and each screenshot opens
# /login?token=...&next=PAGE, which sets the session cookie and redirects. paymedic never logs
# request URLs; the token is on this machine's command lines for a moment, and dies with the
# server.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here/docs}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [[ -z "$chromium" ]]; then
    echo "error: chromium not found: install it (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
fi
command -v curl >/dev/null || { echo "error: curl not found" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$here/target}"
bin="$target/debug/paymedic"
(cd "$here" && cargo build --quiet --bin paymedic)

work="$(mktemp -d)"
server=""
cleanup() {
    if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

db="$work/demo.db"
# Members with different problems; two tickets handled to the end, one claimed and answered,
# one waiting for someone to claim it.
"$bin" chat --db "$db" >"$work/chat.log" 2>&1 <<'CHAT'
klarna declined my order at asos
1
/as bob
my afterpay payment failed, it says insufficient limit
2
/as carol
where is my refund, it has been two weeks
/as dave
the app keeps crashing when i pay
/as erin
can i pay with my card 4111 1111 1111 1111?
/as frank
what's the weather like
/mod escalate bob limit question after purchase
/mod claim 1
/mod say 1 Hi Bob, your limit resets after your next instalment is paid.
/mod close 1 limit explained
/as bob
/rate yes
/mod escalate carol refund not received
/mod claim 2
/mod say 2 Refunds take 5-10 working days after the shop confirms the return.
/mod close 2 refund timeline explained
/as carol
/rate no
/mod escalate dave app crash on payment
/mod claim 3
/mod say 3 Which phone and app version are you on?
/mod escalate erin card payment question
/quit
CHAT

echo "seeded $db:"
"$bin" tickets list --db "$db" 2>/dev/null

token="demo-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=9187
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
PAYMEDIC_DASHBOARD_TOKEN="$token" "$bin" web --db "$db" --listen "127.0.0.1:$port" \
    --allow-token-link >"$work/web.log" 2>&1 &
server=$!
for _ in $(seq 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/static/style.css" 2>/dev/null && break
    sleep 0.2
done

shoot() { # NAME PATH WIDTH HEIGHT
    local next
    next="$(printf '%s' "$2" | sed 's/\//%2F/g; s/?/%3F/g; s/=/%3D/g')"
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --user-data-dir="$work/profile-$1" \
        --window-size="$3,$4" --screenshot="$out/$1.png" \
        "http://127.0.0.1:$port/login?token=$token&next=$next" >/dev/null 2>&1
    echo "wrote $out/$1.png"
}

for page in overview:/ funnels:/funnels unanswered:/unanswered tickets:/tickets; do
    name="${page%%:*}"
    path="${page#*:}?window=7d"
    shoot "dashboard-$name-desktop" "$path" 1280 1000
    shoot "dashboard-$name-phone" "$path" 390 1400
done
if grep -q "$token" "$work/web.log"; then
    echo "error: the token appeared in the server's log" >&2
    exit 1
fi
