# In headless Chromium: a looping kernel's task fails with "timeout" after
# --max-attempts and its prefetched neighbours are not failed, a memory bomb
# fails with "out of memory" at the page's cap, and the same page then
# completes a normal campaign (the browser watchdog).
. "$(dirname "$0")/browser/env.sh"
run_node watchdog.test.js 180
