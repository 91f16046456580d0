# The volunteer page over https (wpool serve --sslkey --sslcert, a test CA
# made by openssl): its Web Workers follow the origin to wss:// and finish
# a campaign in headless Chromium; http:// is redirected to https://.
. "$(dirname "$0")/browser/env.sh"
run_node https.test.js 180
