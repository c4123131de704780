// An HTTP/2 WebSocket backend (RFC 8441) with Node's own http2 module:
// SETTINGS_ENABLE_CONNECT_PROTOCOL, extended CONNECT streams, RFC 6455
// framing on the stream's DATA. Cleartext prior knowledge, or TLS (ALPN h2)
// with a key and certificate.
//
//   node node_h2_ws_backend.js [--no-connect-protocol] [--tls KEY CERT]
//
// Prints "listening PORT" once it listens, then one JSON line per event on
// stdout: {"ev":"stream","id":N,"headers":{...}} for every request head,
// {"ev":"close","id":N,"rst":CODE,"path":P} when a stream closes (CODE:
// the RST_STREAM code it ended with, 0 when it ended cleanly).
//
// Paths of an extended CONNECT:
//   /ws          200, then every message echoed; PING answered with PONG,
//                CLOSE with CLOSE and the end of the stream
//   /ws/reset    200, echoes the first message, then RST_STREAM(CANCEL)
//   /ws/hold     200, then nothing: the stream stays open (for resets from
//                the other side)
//   /refuse/NNN  NNN with the body "refused NNN\n"
// Any other request: 200 "ok\n".
'use strict';

const http2 = require('http2');
const fs = require('fs');

const args = process.argv.slice(2);
const settings = { enableConnectProtocol: !args.includes('--no-connect-protocol') };
const tlsAt = args.indexOf('--tls');
const server = tlsAt >= 0
    ? http2.createSecureServer({ key: fs.readFileSync(args[tlsAt + 1]),
                                 cert: fs.readFileSync(args[tlsAt + 2]), settings })
    : http2.createServer({ settings });

function report(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

const OP_TEXT = 1, OP_BIN = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10;

// One unmasked server frame.
function frame(op, payload) {
    const n = payload.length;
    let head;
    if (n < 126) {
        head = Buffer.from([0x80 | op, n]);
    } else if (n < 65536) {
        head = Buffer.alloc(4);
        head[0] = 0x80 | op; head[1] = 126; head.writeUInt16BE(n, 2);
    } else {
        head = Buffer.alloc(10);
        head[0] = 0x80 | op; head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2);
    }
    return Buffer.concat([head, payload]);
}

// Calls onFrame(fin, op, payload) for every complete frame in the bytes fed.
function frameParser(onFrame) {
    let buf = Buffer.alloc(0);
    return (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
            if (buf.length < 2)
                return;
            let n = buf[1] & 0x7f, at = 2;
            if (n === 126) {
                if (buf.length < 4) return;
                n = buf.readUInt16BE(2); at = 4;
            } else if (n === 127) {
                if (buf.length < 10) return;
                n = Number(buf.readBigUInt64BE(2)); at = 10;
            }
            const masked = (buf[1] & 0x80) !== 0;
            const need = at + (masked ? 4 : 0) + n;
            if (buf.length < need)
                return;
            const payload = Buffer.from(buf.subarray(at + (masked ? 4 : 0), need));
            if (masked) {
                const key = buf.subarray(at, at + 4);
                for (let i = 0; i < n; i++)
                    payload[i] ^= key[i & 3];
            }
            const fin = (buf[0] & 0x80) !== 0, op = buf[0] & 0x0f;
            buf = buf.subarray(need);
            onFrame(fin, op, payload);
        }
    };
}

function echo(stream, path) {
    let parts = [], msgOp = 0, echoed = 0;
    stream.on('data', frameParser((fin, op, payload) => {
        if (op === OP_PING) {
            stream.write(frame(OP_PONG, payload));
            return;
        }
        if (op === OP_CLOSE) {
            stream.end(frame(OP_CLOSE, payload.subarray(0, 2)));
            return;
        }
        if (op !== 0)
            msgOp = op;
        parts.push(payload);
        if (!fin)
            return;
        const msg = Buffer.concat(parts);
        parts = [];
        if (path === '/ws/reset' && echoed > 0) {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            return;
        }
        stream.write(frame(msgOp, msg));
        echoed++;
    }));
    stream.on('end', () => { if (!stream.destroyed) stream.end(); });
}

server.on('stream', (stream, headers) => {
    const path = headers[':path'] || '';
    const id = stream.id;
    const plain = {};
    for (const k of Object.keys(headers))
        plain[k] = String(headers[k]);
    report({ ev: 'stream', id, headers: plain });
    stream.on('close', () => report({ ev: 'close', id, path, rst: stream.rstCode || 0 }));
    stream.on('error', () => {});
    if (headers[':method'] !== 'CONNECT') {
        stream.respond({ ':status': 200 });
        stream.end('ok\n');
        return;
    }
    if (path.startsWith('/refuse/')) {
        const status = Number(path.split('/')[2]);
        stream.respond({ ':status': status, 'content-type': 'text/plain' });
        stream.end('refused ' + status + '\n');
        return;
    }
    stream.respond({ ':status': 200, 'sec-websocket-protocol-seen':
                     headers['sec-websocket-protocol'] || '' });
    if (path !== '/ws/hold')
        echo(stream, path);
});

server.on('sessionError', () => {});
server.listen(0, '127.0.0.1', () => {
    process.stdout.write('listening ' + server.address().port + '\n');
});
