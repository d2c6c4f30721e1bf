import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe('GET /metrics in Prometheus format', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.api('POST', '/v1/accounts', { userId: 'metered' });
    const events = ['resume_upload', 'resume_upload', 'resume_upload', 'resume_upload'].map((feature, i) => ({ userId: 'metered', feature, idempotencyKey: `m${i}` }));
    await engine.api('POST', '/v1/usage/batch', { events });
    await Promise.all(events.map((e) => settled(engine, e.idempotencyKey)));
  });
  afterAll(async () => engine?.stop());

  it('counts events applied and rejected by reason, and reports queue depth, age and job durations', async () => {
    const r = await call<string>(engine.baseUrl, null, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toContain('tokens_usage_events_total{outcome="applied",reason=""} 3');
    expect(r.body).toContain('tokens_usage_events_total{outcome="rejected",reason="insufficient_tokens"} 1');
    expect(r.body).toMatch(/tokens_queue_jobs\{queue="usage",state="waiting"\} 0/);
    expect(r.body).toMatch(/tokens_queue_oldest_waiting_seconds\{queue="usage"\} 0/);
    expect(r.body).toMatch(/tokens_job_duration_seconds_count\{queue="usage",outcome="completed"\} [1-9]/);
    expect(r.body).toContain('# TYPE tokens_notification_failures_total counter');
  });
});
