// Headless Chromium (Debian's chromium, through playwright-core) as a
// client of h2gate's TLS frontend, for test_browser.py.
//
//   node node_browser_proxy.js CHROMIUM_PATH BASE_URL
//
// Opens BASE_URL/ (the certificate is self-signed: errors ignored), then
// from that page: the protocol it came over, a POST to /echo, an 8 MiB
// POST to /early (answered 413 before the body's end), and a WebSocket
// to /ws that sends one message and waits for its echo. Prints one JSON
// object on stdout. Nothing here talks to anything but BASE_URL.
'use strict';

const { chromium } = require('playwright-core');

const [executablePath, base] = process.argv.slice(2);

(async () => {
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    try {
        const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
        const page = await ctx.newPage();
        const nav = await page.goto(base + '/', { timeout: 20000 });
        const out = await page.evaluate(async () => {
            const res = {};
            res.proto = performance.getEntriesByType('navigation')[0].nextHopProtocol;
            const e = await fetch('/echo', { method: 'POST', body: 'hello' });
            res.echo = [e.status, await e.text()];
            try {
                const x = await fetch('/early', { method: 'POST', body: new Uint8Array(8 << 20) });
                res.early = [x.status, await x.text()];
            } catch (err) {
                res.early = 'error: ' + err;
            }
            res.ws = await new Promise((resolve) => {
                const ws = new WebSocket(location.origin.replace('https', 'wss') + '/ws');
                const t = setTimeout(() => resolve('timeout'), 10000);
                ws.onopen = () => ws.send('ping!');
                ws.onmessage = (m) => { clearTimeout(t); ws.close(); resolve('echo: ' + m.data); };
                ws.onerror = () => { clearTimeout(t); resolve('error'); };
            });
            return res;
        });
        out.status = nav.status();
        console.log(JSON.stringify(out));
    } finally {
        await browser.close();
    }
})().catch((e) => { console.error(String(e)); process.exit(1); });
