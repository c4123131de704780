// Drives headless Chromium (Debian's chromium, through playwright-core) on
// the admin listener's dashboard for test_dashboard.py.
//
//   node node_dashboard.js CHROMIUM_PATH
//
// Line protocol: one JSON command per line on stdin, one JSON answer per
// line on stdout ({"ok": true, ...} or {"ok": false, "error": "..."}).
// The first line out says the browser started: {"ok": true, "version"}.
//   {"cmd": "open", "url", "width", "height"}  a page on url; every request
//        it makes is recorded from here on
//   {"cmd": "read"}       what the page shows: body's data-state, the banner,
//        every [data-k] element's text and data-value, the backend and
//        worker table rows (cells by data-col)
//   {"cmd": "eval", "expr"}  the value of a JavaScript expression in the page
//   {"cmd": "screenshot", "path", "width", "height", "scheme"}  a full-page
//        PNG at that viewport, in "light" or "dark"
//   {"cmd": "fake", "base", "grow"}  from now on the page's polls of
//        stats get base (an object) instead of h2gate's answer, the Nth
//        one with N * delta added at each [path, delta] of grow (so
//        counters move by the same amount every poll); base null: h2gate
//        answers again. For keys a given h2gate does not have yet.
//   {"cmd": "requests"}   every URL the page requested
//   {"cmd": "errors"}     console errors, uncaught exceptions and CSP
//        violations seen so far
//   {"cmd": "close"}      closes the browser and exits
// Nothing here talks to anything but the URL it is given.
'use strict';

const readline = require('readline');
const { chromium } = require('playwright-core');

const executablePath = process.argv[2];
let browser = null;
let page = null;
const requests = [];
const errors = [];
let fake = null;      // {base, grow, served}: see "fake"

function fakeBody() {
    const b = JSON.parse(JSON.stringify(fake.base));
    fake.served++;
    for (const [path, delta] of fake.grow) {
        let o = b;
        for (const k of path.slice(0, -1))
            o = o[k];
        o[path[path.length - 1]] += fake.served * delta;
    }
    return JSON.stringify(b);
}

function reply(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// The page's visible state, gathered in the page.
function readPage() {
    const cells = tr => {
        const out = {};
        for (const td of tr.querySelectorAll('td[data-col]'))
            out[td.dataset.col] = { text: td.textContent, value: td.dataset.value };
        return out;
    };
    const values = {};
    for (const e of document.querySelectorAll('[data-k]'))
        values[e.dataset.k] = { text: e.textContent, value: e.dataset.value };
    const banner = document.getElementById('banner');
    return {
        state: document.body.dataset.state,
        banner: banner.classList.contains('shown') ? banner.textContent : '',
        values,
        backends: [...document.querySelectorAll('#backends tr[data-backend]')].map(
            tr => Object.assign({ backend: tr.dataset.backend }, cells(tr))),
        workers: [...document.querySelectorAll('#workers tr[data-worker]')].map(cells),
    };
}

async function handle(cmd) {
    switch (cmd.cmd) {
    case 'open': {
        const ctx = await browser.newContext({
            viewport: { width: cmd.width || 1280, height: cmd.height || 900 },
        });
        page = await ctx.newPage();
        page.on('request', r => requests.push(r.url()));
        page.on('console', m => {
            if (m.type() === 'error')
                errors.push('console: ' + m.text());
        });
        page.on('pageerror', e => errors.push('exception: ' + e.message));
        await page.exposeFunction('__h2gateCspViolation',
                                  text => errors.push('csp: ' + text));
        await page.addInitScript(() => {
            document.addEventListener('securitypolicyviolation', e =>
                window.__h2gateCspViolation(e.violatedDirective + ' ' + e.blockedURI));
        });
        const resp = await page.goto(cmd.url, { waitUntil: 'load' });
        return { status: resp.status(), headers: resp.headers() };
    }
    case 'read':
        return { page: await page.evaluate(readPage) };
    case 'eval':
        return { value: await page.evaluate(cmd.expr) };
    case 'screenshot':
        await page.emulateMedia({ colorScheme: cmd.scheme || 'light' });
        await page.setViewportSize({ width: cmd.width, height: cmd.height });
        // the chart redraws on resize; let one frame pass before the shot
        await page.evaluate(() => new Promise(r => requestAnimationFrame(() => r())));
        await page.screenshot({ path: cmd.path, fullPage: true });
        return {};
    case 'fake':
        if (!fake) {
            await page.route(url => url.pathname === '/stats', route => {
                if (!fake || !fake.base)
                    return route.continue();
                return route.fulfill({ status: 200, contentType: 'application/json',
                                       body: fakeBody() });
            });
        }
        fake = { base: cmd.base, grow: cmd.grow || [], served: 0 };
        return {};
    case 'requests':
        return { urls: requests };
    case 'errors':
        return { errors };
    case 'close':
        await browser.close();
        browser = null;
        return {};
    default:
        throw new Error('unknown command ' + cmd.cmd);
    }
}

async function main() {
    try {
        browser = await chromium.launch({
            executablePath,
            headless: true,
            // root in a container: Chromium's sandbox needs user namespaces
            args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
        });
    } catch (e) {
        reply({ ok: false, error: String(e && e.message || e) });
        process.exit(1);
    }
    reply({ ok: true, version: browser.version() });
    const rl = readline.createInterface({ input: process.stdin });
    // one command at a time, in order
    let chain = Promise.resolve();
    rl.on('line', line => {
        chain = chain.then(async () => {
            let cmd;
            try {
                cmd = JSON.parse(line);
                reply(Object.assign({ ok: true }, await handle(cmd)));
            } catch (e) {
                reply({ ok: false, error: String(e && e.stack || e) });
            }
            if (cmd && cmd.cmd === 'close')
                process.exit(0);
        });
    });
    rl.on('close', () => {
        chain.then(async () => {
            if (browser)
                await browser.close();
            process.exit(0);
        });
    });
}

main();
