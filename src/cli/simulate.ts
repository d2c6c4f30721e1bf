import { existsSync, readFileSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import { TokenEngine, unwrap, type UsageEvent } from '@token-engine/client';
import { table } from './table.js';

interface SimulateOptions {
  url: string;
  users: number;
  days: number;
  /** The summary as JSON, and no progress bar. */
  json?: boolean;
}

// Plans by share of users, and features by how often people reach for them (the seed's usage patterns).
const planMix: Array<[string, number]> = [['free_starter', 0.5], ['monthly_pro', 0.3], ['annual_pro', 0.15], ['enterprise_pro', 0.05]];
const featureMix: Array<[string, number]> = [
  ['resume_analysis', 25], ['resume_upload', 20], ['06_Job_Match.py', 15], ['profile_basic', 12], ['enhanced_job_match', 8],
  ['ai_interview_coach', 6], ['career_intelligence', 4], ['personal_branding', 4], ['cv_generator', 3], ['mentorship_session', 2], ['01_Dashboard.py', 1],
];
const dailyBudget: Record<string, number> = { free_starter: 10 / 30, monthly_pro: 100 / 30, annual_pro: 250 / 30, enterprise_pro: 1000 / 30 };

function keys(): { api: string; admin: string } {
  const api = process.env.TOKENS_API_KEYS?.split(',')[0];
  const admin = process.env.TOKENS_ADMIN_KEYS?.split(',')[0];
  if (api && admin) return { api, admin };
  const file = process.env.TOKENS_DEV_KEYS_FILE ?? '.dev-keys.json';
  if (!existsSync(file)) throw new Error(`no keys: set TOKENS_API_KEYS and TOKENS_ADMIN_KEYS, or start the engine once to create ${file}`);
  return JSON.parse(readFileSync(file, 'utf8')) as { api: string; admin: string };
}

function pick<T>(mix: Array<[T, number]>, r: number): T {
  const total = mix.reduce((s, [, w]) => s + w, 0);
  let x = r * total;
  for (const [value, weight] of mix) if ((x -= weight) < 0) return value;
  return mix[mix.length - 1]![0];
}

/**
 * Plays many users on every plan through the HTTP API of a running engine, a day at a time, as the
 * product's services would: with the TypeScript client (clients/typescript). With the engine's test
 * clock on, the clock moves a day per step and renewals run, so periods really end; otherwise the uses
 * are reported with their time over the past days. Rollups run at the end, so the admin console shows
 * the month at once.
 */
export async function simulate(o: SimulateOptions): Promise<void> {
  const { api, admin } = keys();
  const service = new TokenEngine({ baseUrl: o.url, apiKey: api });
  // The admin routes through the same typed client, with the admin key.
  const operator = new TokenEngine({ baseUrl: o.url, apiKey: admin }).api;
  const say = (line: string) => {
    if (!o.json) console.log(line);
  };

  const clock = await operator.GET('/admin/api/clock');
  const testClock = clock.response.status === 200;
  if (!testClock && clock.response.status !== 404) unwrap(clock);
  const dayMs = 86_400_000;
  const start = clock.data ? new Date(clock.data.now).getTime() : Date.now() - o.days * dayMs;
  const run = Date.now().toString(36);
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

  const users = Array.from({ length: o.users }, (_, i) => ({ userId: `sim-${run}-${i}`, plan: pick(planMix, random()), activity: 0.4 + random() }));
  for (const u of users) await service.createAccount(u.userId, { plan: u.plan });
  say(`${o.users} users created; ${o.days} days of use ${testClock ? 'on the test clock' : 'reported over the past days'}`);

  const bar = o.json ? undefined : new SingleBar({ format: ' {bar} {percentage}% | day {value}/{total} | {events} uses sent' }, Presets.shades_classic);
  bar?.start(o.days, 0, { events: 0 });
  let sent = 0;
  for (let day = 0; day < o.days; day++) {
    const dayStart = start + day * dayMs;
    if (testClock) unwrap(await operator.POST('/admin/api/clock', { body: { now: new Date(dayStart + dayMs).toISOString() } }));
    const events: UsageEvent[] = [];
    for (const u of users) {
      const budget = (dailyBudget[u.plan] ?? 1) * u.activity;
      let tokens = 0;
      while (tokens < budget && random() < 0.9) {
        const feature = pick(featureMix, random());
        tokens += 4;
        events.push({
          userId: u.userId,
          feature,
          idempotencyKey: `${u.userId}-${day}-${events.length}`,
          occurredAt: new Date(dayStart + Math.floor(random() * dayMs)).toISOString(),
        });
      }
    }
    for (let i = 0; i < events.length; i += 1000) await service.recordUsageBatch(events.slice(i, i + 1000));
    sent += events.length;
    if (testClock) {
      for (const name of ['holds', 'renewals']) unwrap(await operator.POST('/admin/api/jobs/{name}/run', { params: { path: { name } }, body: {} }));
    }
    bar?.update(day + 1, { events: sent });
  }
  bar?.stop();
  // Let the workers apply what was sent before the rollup counts it.
  for (let i = 0; i < 600; i++) {
    const { queues } = unwrap(await operator.GET('/admin/api/queues'));
    const usage = queues.find((q) => q.name === 'usage');
    if (!usage || usage.waiting + usage.active + usage.delayed + (usage.staged ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  unwrap(await operator.POST('/admin/api/jobs/{name}/run', { params: { path: { name: 'rollups' } }, body: {} }));

  const byPlan = new Map<string, number>();
  for (const u of users) byPlan.set(u.plan, (byPlan.get(u.plan) ?? 0) + 1);
  if (o.json) {
    console.log(JSON.stringify({ users: o.users, days: o.days, testClock, usesSent: sent, usersByPlan: Object.fromEntries(byPlan) }, null, 2));
    return;
  }
  console.log(table([...byPlan].map(([plan, count]) => ({ plan, users: count }))));
  console.log(`done: ${sent} uses sent. Open ${o.url}/admin (any user name, the admin key as password).`);
}
