// For shell tests: opens the volunteer page at URL in headless Chromium
// (trusting the certificate whose public key hashes to SPKI, "-" for none),
// presses Join with N Web Workers, and waits until CAMPAIGN is complete,
// asking `wpool status` (W_POOL, W_CACERT from the environment); CAMPAIGN
// may be submitted once the page's workers have joined.
//   node join.js URL SPKI CAMPAIGN [N [SECONDS]]
// Prints the page's slots as JSON; exits 1 with the page's log on failure.
'use strict';
const lib = require('./lib');
const tls = require('./tls');

async function main() {
  const [url, spki, campaign, workers = '2', seconds = '120'] = process.argv.slice(2);
  const browser = spki === '-' ? await lib.launch() : await tls.launchTrusting(spki);
  let logs = [];
  try {
    const opened = await lib.newPage(browser);
    logs = opened.logs;
    const page = opened.page;
    const sep = url.includes('?') ? '&' : '?';
    const response = await page.goto(`${url}${sep}workers=${workers}`);
    if (!response || response.status() !== 200)
      throw new Error(`${url}: HTTP ${response && response.status()}`);
    await page.getByRole('button', { name: 'Join' }).click();
    // Awaited: playwright starts each Web Worker only while we answer it.
    // The campaign may be submitted after the page joined: until then
    // `wpool status` refuses the name, and its last word is in the timeout.
    let last = '';
    await lib.until(`campaign ${campaign} complete`, async () => {
      try {
        const s = JSON.parse(await lib.runAsync('wpool', ['status', campaign, '--json']));
        return s.campaigns.length === 1 && s.campaigns[0].complete;
      } catch (e) {
        last = e.message;
        return false;
      }
    }, Number(seconds) * 1000).catch((e) => { throw new Error(`${e.message} (${last || 'not complete'})`); });
    const slots = await page.evaluate(() => wkit.slots);
    console.log(JSON.stringify({ pool: await page.textContent('#pool'), slots }));
  } catch (e) {
    console.error(`join.js: ${e.message}\npage log: ${logs.join(' | ')}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
main();
