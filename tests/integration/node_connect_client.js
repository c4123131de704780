// HTTP/2 CONNECT client with Node's built-in http2 module, as the Node
// documentation's "Supporting the CONNECT method" example does it:
// http2.connect(), client.request({':method': 'CONNECT', ':authority'}),
// req.end(NAME), then read the reply to the end.
//
//   node node_connect_client.js PROXY_URL AUTHORITY NAME [TIMEOUT_MS]
//
// PROXY_URL is http://127.0.0.1:PORT (h2c, prior knowledge) or
// https://127.0.0.1:PORT (TLS with ALPN h2; the certificate is not checked:
// rejectUnauthorized false). Prints one JSON line:
//   {"status": 200, "data": "hello NAME", "ended": true, "error": null}
// and exits 0 when the exchange ran to its end (whatever the status), 1 on a
// client error, 2 when TIMEOUT_MS (default 10000) passed first.
'use strict';

const http2 = require('http2');

const [url, authority, name, timeoutArg] = process.argv.slice(2);
if (!url || !authority || name === undefined) {
    process.stderr.write('usage: node_connect_client.js PROXY_URL AUTHORITY NAME [TIMEOUT_MS]\n');
    process.exit(64);
}

const result = { status: null, data: '', ended: false, error: null, rstCode: null };
let done = false;

function finish(code) {
    if (done)
        return;
    done = true;
    process.stdout.write(JSON.stringify(result) + '\n');
    client.destroy();
    process.exit(code);
}

const timer = setTimeout(() => {
    result.error = 'timeout';
    finish(2);
}, Number(timeoutArg || 10000));

const client = http2.connect(url, { rejectUnauthorized: false });
client.on('error', (err) => {
    result.error = String(err && err.code || err);
    finish(1);
});

// Must not specify the ':path' and ':scheme' headers for CONNECT requests.
const req = client.request({
    ':method': 'CONNECT',
    ':authority': authority,
});

req.on('response', (headers) => {
    result.status = Number(headers[http2.constants.HTTP2_HEADER_STATUS]);
});
req.setEncoding('utf8');
req.on('data', (chunk) => { result.data += chunk; });
req.on('end', () => {
    result.ended = true;
    clearTimeout(timer);
    finish(0);
});
req.on('close', () => {
    result.rstCode = req.rstCode === undefined ? null : req.rstCode;
    if (!result.ended) {
        clearTimeout(timer);
        finish(result.status === null ? 1 : 0);
    }
});
req.on('error', (err) => {
    result.error = String(err && err.code || err);
});
req.end(name);
