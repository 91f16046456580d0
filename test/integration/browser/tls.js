// TLS for the browser tests: a test CA and a server certificate made with
// openssl(1), and headless Chromium that trusts exactly that certificate
// (by its public key, --ignore-certificate-errors-spki-list) and nothing
// else it would not trust anyway.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.W_CHROMIUM || '/usr/bin/chromium';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// Makes dir/ca.pem and dir/server.pem + dir/server.key for `san`
// (default localhost and 127.0.0.1); returns their paths and the base64
// sha256 of the server key's SubjectPublicKeyInfo.
function makeCerts(dir, san = 'DNS:localhost,IP:127.0.0.1') {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=wkit browser test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  openssl(['req', ...ec, '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'],
    dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), `subjectAltName=${san}\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  const der = execFileSync('sh', ['-c',
    'openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der'], { cwd: dir });
  const spki = require('node:crypto').createHash('sha256').update(der).digest('base64');
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'), spki };
}

// Headless Chromium that accepts the certificate with public key `spki`.
async function launchTrusting(spki) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
}

module.exports = { makeCerts, launchTrusting };
