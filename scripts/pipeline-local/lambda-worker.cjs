// One Lambda execution environment for the enrichment bundle: a child process (forked by
// lambda-host.ts) that loads index.js from the deployed zip's contents once (cold start) and then
// runs one invocation at a time, as Lambda does per environment. Messages over the IPC channel:
//   in:  {id, event, deadlineMs, crashAfterPutRecords?}   out: {id, ok: true, response} | {id, ok: false, error}
// crashAfterPutRecords (fault injection): exit(137) once the handler has sent that many PutRecords
// calls in this invocation, i.e. a crash mid-batch after part of the batch was written.
'use strict';
const path = require('node:path');
const http = require('node:http');

const dir = process.argv[2];
let crashAfter = 0;
let putRecordsSeen = 0;
// The bundle's SDK clients use node:http (plain-HTTP emulator endpoints); count PutRecords
// requests there so a crash lands between two real writes.
const origRequest = http.request;
http.request = function patchedRequest(...args) {
  const req = origRequest.apply(this, args);
  const opts = args[0] && typeof args[0] === 'object' ? args[0] : {};
  const target = String((opts.headers && (opts.headers['x-amz-target'] || opts.headers['X-Amz-Target'])) || '');
  if (crashAfter > 0 && target.endsWith('.PutRecords')) {
    req.once('response', () => {
      putRecordsSeen += 1;
      if (putRecordsSeen >= crashAfter) {
        process.stderr.write(`lambda-worker: injected crash after ${putRecordsSeen} PutRecords\n`);
        process.exit(137);
      }
    });
  }
  return req;
};

let handler;
try {
  ({ handler } = require(path.join(dir, 'index.js')));
} catch (e) {
  process.send({ id: 0, ok: false, error: `init failed: ${e && e.stack ? e.stack : e}` });
  process.exit(1);
}
process.send({ id: 0, ok: true, response: 'ready' });

process.on('message', async (msg) => {
  crashAfter = msg.crashAfterPutRecords || 0;
  putRecordsSeen = 0;
  const context = {
    functionName: msg.functionName || 'enrichment',
    awsRequestId: `req-${msg.id}`,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadlineMs - Date.now()),
  };
  try {
    const response = await handler(msg.event, context);
    process.send({ id: msg.id, ok: true, response: response === undefined ? null : response });
  } catch (e) {
    process.send({ id: msg.id, ok: false, error: String(e && e.stack ? e.stack : e) });
  }
});
