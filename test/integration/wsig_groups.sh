# Peer groups: prefix listing over HTTP and the GROUP-* service (announcements,
# member and group timeouts, capabilities) against the real wsig.
. "$(dirname "$0")/wsig/env.sh"
run_node groups.test.js 300
