// Verifies deliveries with npm's standardwebhooks (an implementation of the scheme written elsewhere), for the tests.
// Reads JSON lines on stdin: {"secret", "id", "timestamp", "signature", "body"} and prints one line per input:
// "ok" when the library accepts it, or "refused: <why>".
import { createRequire } from 'node:module';
import readline from 'node:readline';
const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { secret, id, timestamp, signature, body } = JSON.parse(line);
  try {
    // The library checks the timestamp against its clock too (5 minutes of tolerance).
    new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature });
    console.log('ok');
  } catch (error) {
    console.log(`refused: ${error.message}`);
  }
}
