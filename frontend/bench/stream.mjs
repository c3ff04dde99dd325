/**
 * Client benchmark: how the browser keeps up while a long Markdown answer streams.
 *
 *   node frontend/bench/stream.mjs [--tokens 3000,12000] [--rates 50,150]
 *
 * For each answer length and token rate: the loopback fake upstream (tests/fake_upstream.py)
 * streams a realistic answer (bench/client_answer.py: headings, lists, tables, 30-80-line
 * Python and TypeScript blocks) through the real server (Daphne, fresh SQLite) into Debian's
 * Chromium, and this prints: frames per second over 1 s windows while streaming (median,
 * min), long tasks (> 50 ms, and the longest), total blocking time, main-thread ms per delta
 * frame (whole stream, and per quarter: flat means it does not grow with the answer), and
 * last token -> visible (the last delta frame's arrival to the first frame after the DOM
 * shows it). Not a test: it asserts nothing; figures go in docs/client-performance.md.
 *
 * The deployed shape: BENCH_DATABASE_URL (an empty PostgreSQL database, migrated here) and
 * BENCH_REDIS_URL replace the fresh SQLite file and the in-process layer.
 */
import { chromium } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = process.env.BENCH_PYTHON ?? path.join(ROOT, '.venv/bin/python');
const DAPHNE = path.join(path.dirname(PYTHON), 'daphne');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return (i > 0 ? process.argv[i + 1] : fallback).split(',').map(Number);
};
const TOKENS = arg('tokens', '3000,12000');
const RATES = arg('rates', '50,150');
// --profile S: take a CPU profile from S seconds into the stream to its end, print the top self times.
const PROFILE = process.argv.includes('--profile') ? arg('profile', '0')[0] : 0;

function printProfile(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`profile: ${total.toFixed(0)} ms sampled; top self time:`);
  [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)
    .forEach(([key, ms]) => console.log(`  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${key}`));
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function run(command, args, env) {
  const done = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (done.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${done.stderr}`);
  return done.stdout;
}

async function waitFor(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up`);
}

/** Upstream + Daphne for one answer and rate; returns the base URL and a stop function. */
async function startServers(tmp, answerFile, rate) {
  const [upstreamPort, serverPort] = [await freePort(), await freePort()];
  const children = [];
  const start = (command, args, env, log) => {
    const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
    children.push(child);
    return child;
  };
  const upstreamLog = path.join(tmp, 'upstream.log');
  start(PYTHON, ['-m', 'tests.fake_upstream', '--port', String(upstreamPort), '--delay', String(1 / rate), '--content-file', answerFile],
    { ...process.env, PYTHONUNBUFFERED: '1' }, upstreamLog);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    PYTHONPATH: path.join(ROOT, 'src'),
    PYTHONUNBUFFERED: '1',
    DJANGO_SETTINGS_MODULE: 'config.settings',
    DATABASE_URL: `sqlite:///${path.join(tmp, 'db.sqlite3')}`,
    DJANGO_SECRET_KEY: 'bench',
    DJANGO_ALLOWED_HOSTS: '127.0.0.1,localhost',
    LLM_PROVIDER: 'deepseek',
    LLM_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
    LLM_API_KEY: 'x',
    LLM_MODEL: 'fake-model',
    LLM_MAX_RETRIES: '0',
    CHAT_RATE_LIMIT: '1000/m',
  };
  if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
  if (process.env.BENCH_REDIS_URL) Object.assign(env, { REDIS_URL: process.env.BENCH_REDIS_URL, CHAT_REDIS_PREFIX: `bench-${serverPort}` });
  run(PYTHON, ['manage.py', 'migrate', '--noinput', '-v', '0'], env);
  run(PYTHON, ['manage.py', 'shell', '-v', '0', '-c',
    "from django.contrib.auth.models import User; User.objects.filter(username='bench').exists() or User.objects.create_user('bench', '', 'bench-pass-123')"], env);
  start(DAPHNE, ['-b', '127.0.0.1', '-p', String(serverPort), 'config.asgi:application'], env, path.join(tmp, 'daphne.log'));
  const base = `http://127.0.0.1:${serverPort}`;
  await waitFor('fake upstream', () => readFileSync(upstreamLog, 'utf8').includes('listening'));
  await waitFor('daphne', async () => (await fetch(`${base}/healthz`)).status === 200);
  const stop = () => children.forEach((child) => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // gone
    }
  });
  return { base, stop };
}

/** Installed before the app: stamps delta frames, frames, long tasks, the last token's paint. */
function instrument() {
  const b = (window.__bench = { deltas: 0, firstDeltaAt: 0, lastDeltaAt: 0, lastDelta: '', seen: true, visibleAt: 0, doneAt: 0, frames: [], longTasks: [] });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (typeof event.data !== 'string') return;
        const now = performance.now();
        if (event.data.includes('"message.delta"')) {
          const frame = JSON.parse(event.data);
          if (frame.part !== 'content') return;
          b.deltas++;
          b.firstDeltaAt ||= now;
          b.lastDeltaAt = now;
          b.lastDelta = frame.delta.trim();
          b.seen = false;
        } else if (event.data.includes('"message.done"')) b.doneAt = now;
      });
    }
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) b.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
  const tick = (now) => {
    if (b.firstDeltaAt && !b.doneAt) b.frames.push(now);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  // When the DOM first shows the latest delta, the next animation frame comes after its paint.
  addEventListener('DOMContentLoaded', () => {
    new MutationObserver(() => {
      if (b.seen || !b.lastDelta) return;
      const answers = document.querySelectorAll('article[aria-label="Assistant answer"] .markdown');
      const tail = answers[answers.length - 1]?.lastElementChild;
      if (tail && tail.textContent.trimEnd().endsWith(b.lastDelta)) {
        b.seen = true;
        const delta = b.lastDeltaAt;
        requestAnimationFrame((now) => {
          if (delta === b.lastDeltaAt) b.visibleAt = now;
        });
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
};

async function measure(browser, base, tokens, rate) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript(instrument);
  await page.goto(`${base}/accounts/login/`);
  await page.getByLabel('Username').fill('bench');
  await page.getByLabel('Password').fill('bench-pass-123');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;

  const message = page.getByRole('textbox', { name: 'Message' });
  await message.fill(`Benchmark: ${tokens} tokens at ${rate}/s`);
  await message.press('Enter');
  await page.waitForFunction(() => window.__bench.deltas > 0, null, { timeout: 60_000 });
  const samples = [];
  const started = Date.now();
  let profiling = false;
  for (;;) {
    const [deltas, done] = await page.evaluate(() => [window.__bench.deltas, window.__bench.doneAt]);
    samples.push({ deltas, task: await taskSeconds() });
    if (PROFILE && !profiling && Date.now() - started > PROFILE * 1000) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
      profiling = true;
    }
    if (done) break;
    if (Date.now() - started > 30 * 60_000) throw new Error('the answer did not finish');
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (profiling) printProfile((await cdp.send('Profiler.stop')).profile);
  await page.waitForTimeout(1500);
  const b = await page.evaluate(() => window.__bench);
  await context.close();

  // fps over whole 1 s windows of the stream.
  const windows = [];
  for (let t = b.firstDeltaAt; t + 1000 <= b.lastDeltaAt; t += 1000) {
    windows.push(b.frames.filter((f) => f >= t && f < t + 1000).length);
  }
  const inStream = b.longTasks.filter((task) => task.start >= b.firstDeltaAt - 50 && task.start <= (b.visibleAt || b.doneAt));
  const blocking = inStream.reduce((sum, task) => sum + Math.max(0, task.duration - 50), 0);
  // Main-thread ms per delta frame, overall and per quarter of the stream's deltas.
  const perDelta = (from, to) => ((to.task - from.task) * 1000) / Math.max(1, to.deltas - from.deltas);
  const first = samples[0];
  const last = samples[samples.length - 1];
  const quarters = [1, 2, 3, 4].map((q) => {
    const lo = samples.find((s) => s.deltas >= ((q - 1) / 4) * last.deltas) ?? first;
    const hi = samples.find((s) => s.deltas >= (q / 4) * last.deltas) ?? last;
    return perDelta(lo, hi);
  });
  const seconds = (b.lastDeltaAt - b.firstDeltaAt) / 1000;
  return {
    label: `${tokens} tokens @ ${rate}/s`,
    deltas: b.deltas,
    seconds,
    fpsMedian: median(windows),
    fpsMin: Math.min(...windows),
    longTasks: inStream.length,
    longestTask: Math.max(0, ...inStream.map((t) => t.duration)),
    longestAt: inStream.length ? (inStream.reduce((a, t) => (t.duration > a.duration ? t : a)).start - b.firstDeltaAt) / 1000 : 0,
    blocking,
    msPerDelta: perDelta(first, last),
    quarters,
    lastToVisible: b.visibleAt ? b.visibleAt - b.lastDeltaAt : NaN,
  };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});
const results = [];
try {
  for (const tokens of TOKENS) {
    const tmp = mkdtempSync(path.join(tmpdir(), 'chat-bench-'));
    const answerFile = path.join(tmp, 'answer.md');
    writeFileSync(answerFile, run(PYTHON, [path.join(ROOT, 'bench/client_answer.py'), '--tokens', String(tokens)], process.env));
    for (const rate of RATES) {
      const { base, stop } = await startServers(tmp, answerFile, rate);
      try {
        const r = await measure(browser, base, tokens, rate);
        results.push(r);
        console.log(
          `${r.label}: ${r.deltas} delta frames in ${r.seconds.toFixed(0)} s | fps median ${r.fpsMedian} min ${r.fpsMin} | ` +
            `long tasks ${r.longTasks} (longest ${r.longestTask.toFixed(0)} ms at ${r.longestAt.toFixed(1)} s), blocking ${r.blocking.toFixed(0)} ms | ` +
            `main thread ${r.msPerDelta.toFixed(2)} ms/delta (quarters ${r.quarters.map((q) => q.toFixed(2)).join(' / ')}) | ` +
            `last token -> visible ${r.lastToVisible.toFixed(0)} ms`,
        );
      } finally {
        stop();
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
} finally {
  await browser.close();
}
console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
