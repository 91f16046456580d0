# The real peerjs client in two headless Chromium pages connects through wsig
# and exchanges DataChannel messages; duplicate id, absent id, server-assigned
# id and wrong key behave as with the stock PeerJS server.
. "$(dirname "$0")/wsig/env.sh"
chromium=${W_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "FAIL: $chromium missing: apt-get install chromium" >&2; exit 1; }
[ -d "$NODE_PATH/playwright-core" ] || { echo "FAIL: run 'npm ci --prefix test/node'" >&2; exit 1; }
run_node browser.test.js 400
