# The volunteer page and the dashboard in headless Firefox (Debian's ESR,
# driven over WebDriver BiDi): 8 Web Workers join on each of 4 page loads;
# a looping task fails with "timeout" and a divisible campaign on the
# page's 2 Web Workers gives results equal to the filter-mode run.
. "$(dirname "$0")/browser/env.sh"
firefox=${W_FIREFOX:-/usr/bin/firefox-esr}
[ -x "$firefox" ] || { echo "FAIL: $firefox missing: apt-get install firefox-esr" >&2; exit 1; }
run_node firefox.test.js 180
