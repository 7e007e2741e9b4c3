// Validates an OpenAPI document with two independent validators: @readme/openapi-parser (the specification's schema
// and its rules: unique operationIds, declared path parameters, resolvable references) and Redocly's recommended
// rules (redocly.yaml beside this file). Usage: node tools/openapi/validate.mjs FILE_OR_URL
// Prints what each found and one JSON summary line last; exits 1 when either reports an error or a warning.
import { validate } from '@readme/openapi-parser';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2];
if (!source) {
  console.error('usage: node validate.mjs FILE_OR_URL');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'openapi-'));
try {
  let file = source;
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    file = join(work, 'openapi.json');
    writeFileSync(file, await response.text());
  }

  const parsed = await validate(file);
  const parserErrors = parsed.valid ? [] : parsed.errors.map(e => e.message);
  const parserWarnings = (parsed.warnings ?? []).map(w => w.message);
  console.log(`@readme/openapi-parser: ${parserErrors.length} error(s), ${parserWarnings.length} warning(s)`);
  for (const message of [...parserErrors, ...parserWarnings]) console.log(`  ${message}`);

  const cli = join(here, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const lint = spawnSync(process.execPath,
    [cli, 'lint', file, '--config', join(here, 'redocly.yaml'), '--format=json', '--max-problems', '1000'],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
  let totals;
  let problems = [];
  try {
    const result = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{')));
    totals = result.totals;
    problems = result.problems ?? [];
  } catch {
    console.log(`redocly lint did not report (exit ${lint.status}):\n${lint.stdout}\n${lint.stderr}`);
    process.exit(1);
  }

  console.log(`@redocly/cli lint (recommended): ${totals.errors} error(s), ${totals.warnings} warning(s)`);
  for (const p of problems) {
    const where = p.location?.[0]?.pointer ?? '';
    console.log(`  ${p.severity} ${p.ruleId} ${where}: ${p.message}`);
  }

  const summary = {
    parser: { errors: parserErrors.length, warnings: parserWarnings.length },
    redocly: { errors: totals.errors, warnings: totals.warnings },
  };
  console.log(JSON.stringify(summary));
  const clean = parserErrors.length + parserWarnings.length + totals.errors + totals.warnings === 0;
  process.exit(clean ? 0 : 1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
