// WebSocket client with the npm package `ws` (tests/integration/package.json,
// installed by `make deps`): connects through h2gate over HTTP/1.1, then
// runs a script of exchanges against an echo backend and reports.
//
//   node node_ws_client.js URL MODE [TIMEOUT_MS]
//
// MODE echo:   a text message, a binary message, a 1 MiB binary message
//              (each echoed intact), a ping answered by a pong, then a close
//              from the client (code 1000 back).
// MODE server-close: one message, then wait for the backend's close.
// Prints one JSON line {"ok": bool, "steps": [...], "close": code, "error": null}
// and exits 0 when the script ran to its end, 1 on an error, 2 on timeout.
'use strict';

const crypto = require('crypto');
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: 'ws missing' }) + '\n');
    process.exit(3);
}

const [url, mode, timeoutArg] = process.argv.slice(2);
const result = { ok: false, steps: [], close: null, error: null };
let done = false;

function finish(code) {
    if (done)
        return;
    done = true;
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(code);
}

setTimeout(() => { result.error = 'timeout'; finish(2); }, Number(timeoutArg || 20000));

const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 8 << 20 });
ws.on('error', (e) => { result.error = String(e); finish(1); });

function next() {
    return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

async function echoScript() {
    ws.send('hello through h2gate');
    let m = await next();
    result.steps.push(!m.isBinary && m.data.toString() === 'hello through h2gate' ? 'text' : 'text-bad');
    const small = crypto.randomBytes(1000);
    ws.send(small);
    m = await next();
    result.steps.push(m.isBinary && Buffer.compare(m.data, small) === 0 ? 'binary' : 'binary-bad');
    const big = crypto.randomBytes(1 << 20);
    ws.send(big);
    m = await next();
    result.steps.push(m.isBinary && Buffer.compare(m.data, big) === 0 ? 'mib' : 'mib-bad');
    const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d)));
    ws.ping(Buffer.from('are you there'));
    const d = await pong;
    result.steps.push(d.toString() === 'are you there' ? 'pong' : 'pong-bad');
    ws.close(1000, 'bye');
}

async function serverCloseScript() {
    ws.send('one');
    const m = await next();
    result.steps.push(m.data.toString() === 'one' ? 'text' : 'text-bad');
}

ws.on('close', (code) => {
    result.close = code;
    result.ok = result.error === null && !result.steps.some((s) => s.endsWith('-bad'));
    finish(0);
});

ws.on('open', () => {
    const script = mode === 'server-close' ? serverCloseScript : echoScript;
    script().catch((e) => { result.error = String(e); finish(1); });
});
