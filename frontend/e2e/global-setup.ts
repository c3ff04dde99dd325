/**
 * Starts what the browser tests talk to, and returns the teardown that stops it:
 * the fake OpenAI-compatible upstream (tests/fake_upstream.py), Daphne on a fresh SQLite
 * database in a temp dir, seeded by e2e/seed.py, and nginx in front of it with the repo's
 * configuration (deploy/nginx/) when nginx is installed (E2E_NGINX=0: straight to Daphne).
 * Builds the client first when frontend/dist has no manifest. Passes the URL the browser
 * uses and the seed's ids to the tests through the environment (workers start after this
 * and inherit it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FRONTEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(FRONTEND, '..');
const PYTHON = process.env.E2E_PYTHON ?? path.join(ROOT, '.venv/bin/python');
const DAPHNE = path.join(path.dirname(PYTHON), 'daphne');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): string {
  const done = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (done.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${done.status}):\n${done.stdout}\n${done.stderr}`);
  }
  return done.stdout;
}

/** Spawned in its own process group, so teardown kills it and its children by that id. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const out = openSync(log, 'a');
  return spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', out, out] });
}

function stop(child: ChildProcess | undefined): void {
  if (!child?.pid || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Debian's nginx (in /usr/sbin, not always on PATH), unless E2E_NGINX=0 or it is missing. */
function nginxBinary(): string | null {
  if (process.env.E2E_NGINX === '0') return null;
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim().split('\n')[0] : null;
}

/** nginx in front of `upstream` (host:port), configured by deploy/nginx/render.py in `dir`. */
function startNginx(binary: string, dir: string, upstream: string, port: number, env: NodeJS.ProcessEnv): ChildProcess {
  mkdirSync(path.join(dir, 'root'), { recursive: true });
  symlinkSync(path.join(FRONTEND, 'dist'), path.join(dir, 'root', 'static'));
  const config = run(
    PYTHON,
    ['-m', 'deploy.nginx.render', '--upstream', upstream, '--listen', `127.0.0.1:${port}`,
      '--static-root', path.join(dir, 'root'), '--standalone', dir],
    { ...env, PYTHONPATH: ROOT },
  );
  writeFileSync(path.join(dir, 'nginx.conf'), config);
  return start(binary, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], env, path.join(dir, 'master.log'));
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, child: ChildProcess, log: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${readFileSync(log, 'utf8')}`);
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${ms} ms:\n${readFileSync(log, 'utf8')}`);
}

export default async function globalSetup() {
  const started = Date.now();
  if (!existsSync(path.join(FRONTEND, 'dist/.vite/manifest.json'))) {
    console.log('[e2e] building the client (npm run build)');
    run('npm', ['run', 'build'], process.env, FRONTEND);
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'chat-e2e-'));
  const children: ChildProcess[] = [];
  const teardown = async () => {
    const exits = children.map(
      (child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))),
    );
    children.forEach(stop);
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
    children.forEach((child) => {
      if (child.pid && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    if (!process.env.E2E_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
  };

  try {
    const [upstreamPort, serverPort, nginxPort] = [await freePort(), await freePort(), await freePort()];
    const upstreamLog = path.join(tmp, 'upstream.log');
    // Answers of 250 words at 20 ms a word (about 5 s): long enough to stop, reload or open a
    // second tab mid-answer, and to count frames for 3 s while one streams (perf.e2e.ts).
    const upstream = start(
      PYTHON,
      ['-m', 'tests.fake_upstream', '--port', String(upstreamPort), '--delay', '0.02', '--words', '250'],
      { ...process.env, PYTHONUNBUFFERED: '1' },
      upstreamLog,
    );
    children.push(upstream);

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: process.env.LANG ?? 'C.UTF-8',
      PYTHONPATH: path.join(ROOT, 'src'),
      PYTHONUNBUFFERED: '1',
      DJANGO_SETTINGS_MODULE: 'config.settings',
      DATABASE_URL: `sqlite:///${path.join(tmp, 'db.sqlite3')}`,
      DJANGO_SECRET_KEY: 'e2e',
      DJANGO_ALLOWED_HOSTS: '127.0.0.1,localhost',
      LLM_PROVIDER: 'deepseek',
      LLM_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
      LLM_API_KEY: 'x',
      LLM_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '0',
      // Two models to pick from (settings.e2e.ts): the fake upstream, the default, and the
      // offline terse demo model, whose answer says which prompt and temperature reached it.
      LLM_MODELS: JSON.stringify([
        { id: 'fake-model', label: 'Fake upstream', provider: 'deepseek', model: 'fake-model',
          base_url: `http://127.0.0.1:${upstreamPort}/v1`, api_key: 'x' },
        { id: 'demo-terse', label: 'Demo (terse)', provider: 'demo', model: 'demo-terse' },
      ]),
      // The fake upstream's one long answer would also be every chat's title: the specs
      // check first-message titles; titles by the model have their pytest tests.
      CHAT_TITLES_BY_MODEL: '0',
      CHAT_RATE_LIMIT: '1000/m',
      // nginx, when it runs, passes the browser's address on from 127.0.0.1.
      DJANGO_TRUSTED_PROXIES: '127.0.0.1',
    };
    run(PYTHON, ['manage.py', 'migrate', '--noinput', '-v', '0'], env);
    const seedOut = run(PYTHON, ['manage.py', 'shell', '-v', '0', '-c', readFileSync(path.join(FRONTEND, 'e2e/seed.py'), 'utf8')], env);
    const seed = JSON.parse(seedOut.trim().split('\n').pop() ?? '{}');

    const serverLog = path.join(tmp, 'daphne.log');
    const daphne = start(DAPHNE, ['-b', '127.0.0.1', '-p', String(serverPort), 'config.asgi:application'], env, serverLog);
    children.push(daphne);
    const direct = `http://127.0.0.1:${serverPort}`;
    await waitFor('fake upstream', () => readFileSync(upstreamLog, 'utf8').includes('listening'), upstream, upstreamLog);
    await waitFor('daphne', async () => (await fetch(`${direct}/healthz`)).status === 200, daphne, serverLog);
    let base = direct;
    const nginx = nginxBinary();
    if (nginx) {
      const dir = path.join(tmp, 'nginx');
      const proxy = startNginx(nginx, dir, `127.0.0.1:${serverPort}`, nginxPort, env);
      children.push(proxy);
      base = `http://127.0.0.1:${nginxPort}`;
      await waitFor('nginx', async () => (await fetch(`${base}/readyz`)).status === 200, proxy, path.join(dir, 'master.log'));
    } else {
      console.log('[e2e] nginx not found (or E2E_NGINX=0): the browser talks to Daphne directly');
    }

    process.env.E2E_BASE_URL = base;
    process.env.E2E_TMP = tmp;
    process.env.E2E_PASSWORD = seed.password;
    process.env.E2E_BOB_CONVERSATION = seed.bobConversation;
    process.env.E2E_SHOWCASE_CONVERSATION = seed.showcase;
    process.env.E2E_SERVER_LOG = serverLog;
    console.log(
      `[e2e] ${nginx ? `nginx ${base} -> ` : ''}daphne ${direct}, fake upstream :${upstreamPort}, ` +
        `ready in ${Date.now() - started} ms (logs in ${tmp})`,
    );
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
