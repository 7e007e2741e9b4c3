// Helper of bench/fault-probe.sh (node built-ins only).
//
//   FAULT_PROBE_KEY=<api key> node fault-probe.mjs patch URL FILE OFFSET [DELAY_S KILL_PID]
//     One tus PATCH of FILE from byte OFFSET to its end, streamed in a single request (Content-Length set). With
//     DELAY_S and KILL_PID: once the request body has been fully written (the request's 'finish' event: the last
//     byte left this process), waits DELAY_S seconds and sends SIGKILL to KILL_PID. Prints one JSON line:
//     {status, uploadOffset, finishS, answerS, answerAfterFinishS, killedAfterFinishS, answeredBeforeKill, error, body}
//     (times in seconds from the start of the request; null where it did not happen).
//   node fault-probe.mjs json PATH...
//     Reads JSON from stdin and prints the values at the PATHs (dotted, e.g. "status" or "processing.status"),
//     separated by the byte 0x1f (so that empty fields survive bash's read); a value is empty when the input is not JSON or the value is missing.
import fs from 'node:fs';
import http from 'node:http';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'json') {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c) => { text += c; });
  process.stdin.on('end', () => {
    let root;
    try { root = JSON.parse(text); } catch { root = undefined; }
    const values = args.map((path) => {
      let v = root;
      for (const k of path.split('.').filter(Boolean)) v = v == null ? undefined : v[k];
      if (v === undefined || v === null) return '';
      return (typeof v === 'object' ? JSON.stringify(v) : String(v)).replace(/[\t\n]/g, ' ');
    });
    process.stdout.write(values.join('\x1f') + '\n');
  });
} else if (mode === 'patch') {
  const [url, file, offsetText, delayText, killPidText] = args;
  const key = process.env.FAULT_PROBE_KEY ?? '';
  const offset = Number(offsetText ?? 0);
  const size = fs.statSync(file).size;
  const length = size - offset;
  const delayMs = delayText && delayText !== '-' ? Number(delayText) * 1000 : null;
  const killPid = killPidText && killPidText !== '-' ? Number(killPidText) : null;
  const t0 = process.hrtime.bigint();
  const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const result = {
    status: null, uploadOffset: null, finishS: null, answerS: null, answerAfterFinishS: null,
    killedAfterFinishS: null, answeredBeforeKill: null, error: null, body: null,
  };
  let done = false;
  let killedAt = null;
  let answered = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (result.answerS !== null && result.finishS !== null) result.answerAfterFinishS = +(result.answerS - result.finishS).toFixed(4);
    if (killedAt !== null && result.finishS !== null) result.killedAfterFinishS = +(killedAt - result.finishS).toFixed(4);
    if (killPid !== null) result.answeredBeforeKill = result.answerS !== null && (killedAt === null || result.answerS <= killedAt);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  };
  const u = new URL(url);
  const req = http.request({
    host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PATCH', agent: false,
    headers: {
      Authorization: `Bearer ${key}`,
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(length),
    },
  });
  const kill = () => {
    if (killedAt !== null) return;
    killedAt = now();
    try { process.kill(killPid, 'SIGKILL'); } catch (e) { result.error = `kill: ${e.code ?? e.message}`; }
    if (answered) { setTimeout(finish, 50); return; }
    // Whatever has not answered by now will not: give the socket a moment to report the reset, then report.
    setTimeout(() => { req.destroy(); setTimeout(finish, 200); }, 5000);
  };
  req.on('finish', () => {
    result.finishS = +now().toFixed(4);
    if (killPid !== null) setTimeout(kill, delayMs);
  });
  req.on('response', (res) => {
    result.status = res.statusCode;
    result.answerS = +now().toFixed(4);
    result.uploadOffset = res.headers['upload-offset'] ?? null;
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { if (body.length < 400) body += c; });
    res.on('end', () => {
      result.body = body.slice(0, 200) || null;
      answered = true;
      // With a kill pending, the process is killed as planned even though it answered (the try measures the kill).
      if (killPid === null || killedAt !== null) finish();
    });
    res.on('error', () => {});
  });
  req.on('error', (e) => {
    if (result.error === null) result.error = e.code ?? e.message;
    // Without a kill (or once it is done) an error ends the request; with one pending, wait for it.
    if (killPid === null || killedAt !== null) setTimeout(finish, killedAt !== null ? 300 : 100);
    else if (result.finishS === null) setTimeout(kill, 0);
  });
  // Never hang: a kill try ends at most 5 s after the kill, a plain PATCH after 300 s.
  setTimeout(() => { if (result.error === null) result.error = 'client timeout'; req.destroy(); setTimeout(finish, 100); }, 300000).unref();
  fs.createReadStream(file, { start: offset, highWaterMark: 1 << 20 }).pipe(req);
} else {
  process.stderr.write('usage: fault-probe.mjs patch URL FILE OFFSET [DELAY_S KILL_PID] | json PATH...\n');
  process.exit(2);
}
