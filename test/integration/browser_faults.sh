# In headless Chromium: a trapping kernel fails its task with the trap's
# message and the Web Worker carries on; pause stops new tasks and resume
# continues; closing the page returns its tasks and the campaign completes.
. "$(dirname "$0")/browser/env.sh"
run_node faults.test.js 240
