import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import { audit, settleAudit } from '../../../audit/audit.js';
import { isScheduledJob } from '../../../jobs/scheduled-jobs.js';
import { requireAsOfNotInFuture } from '../../../jobs/as-of.js';
import { notificationJobSchema, queueNames, type QueueName } from '../../../queues.js';
import { isoTimestamp, userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { asDependencyError, errorBody, parse, statusOfCode } from '../../errors.js';

/** What a job added or edited by hand must carry: what the engine's own producers put there. */
const handMadeJobData: Partial<Record<QueueName, z.ZodType<object>>> = {
  renewal: z.strictObject({ userId: userIdSchema, periodIndex: z.number().int().min(0), asOf: isoTimestamp }),
  notification: notificationJobSchema.strict(),
  scheduled: z.strictObject({
    name: z.string().refine(isScheduledJob, 'name must be one of the jobs of GET /admin/api/jobs'),
    asOf: isoTimestamp.optional(),
  }),
};

/**
 * Job ids are the engine's: derived from what a job is for (`renewal:{user}:{period}`, a schedule slot),
 * so that a second add is a no-op. A hand-made id could take the one the real job needs, and a repeat
 * or a parent would make one added job many; only how and when it runs may be chosen.
 */
const handMadeJobOptions = z.strictObject({
  delay: z.number().int().min(0).optional(),
  priority: z.number().int().min(0).optional(),
  attempts: z.number().int().min(1).max(1000).optional(),
  backoff: z.unknown().optional(),
  lifo: z.boolean().optional(),
  removeOnComplete: z.unknown().optional(),
  removeOnFail: z.unknown().optional(),
});

const addBody = z.object({ name: z.string().min(1).max(128), data: z.unknown(), options: handMadeJobOptions.optional() });
const updateDataBody = z.object({ jobData: z.unknown() });

interface BoardParams {
  queueName?: string;
  jobId?: string;
}

const isQueueName = (name: string | undefined): name is QueueName => queueNames.includes(name as QueueName);

/** `bull-board.job.retry` for `/api/queues/:queueName/:jobId/retry`: the route's words, without its parameters. */
function actionOf(route: string): string {
  const words = route.replace(/^.*\/api\/queues\/?/, '').split('/').filter((w) => w && !w.startsWith(':'));
  const scope = route.includes(':jobId') ? 'job' : route.includes(':queueName') ? 'queue' : 'queues';
  return ['bull-board', scope, ...words].join('.');
}

async function validateHandMadeJob(engine: Engine, queue: QueueName, route: string, body: unknown): Promise<void> {
  const adding = route.endsWith('/add');
  if (!adding && !route.endsWith('/update-data')) return;
  const data = adding ? parse(addBody, body, 'job').data : parse(updateDataBody, body, 'job data').jobData;
  const schema = handMadeJobData[queue];
  if (!schema) throw new EngineError('validation_failed', `jobs of the ${queue} queue are made by the engine only`);
  const parsed: { asOf?: string } = parse(schema, data, `${queue} job data`);
  if (parsed.asOf) requireAsOfNotInFuture(new Date(parsed.asOf), await engine.clock.now());
}

/** What the change will act on, as it is before: the job, or the queue's counts. */
async function snapshot(engine: Engine, queue: QueueName | undefined, params: BoardParams) {
  if (!queue) return null;
  const q = engine.queues[queue];
  if (params.jobId === undefined) return { counts: await q.getJobCounts() };
  const job = await q.getJob(params.jobId);
  return job ? { job: { id: job.id, name: job.name, state: await job.getState(), attemptsMade: job.attemptsMade, data: job.data } } : { job: null };
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const known = error instanceof EngineError ? error : asDependencyError(error);
  if (!known) {
    request.log.error({ err: error }, 'bull-board change not audited');
    return reply.status(500).send(errorBody('internal_error', 'internal error; it has been logged'));
  }
  return reply.status(statusOfCode(known.code)).send(errorBody(known.code, known.message, known.details));
}

const auditIds = new WeakMap<FastifyRequest, { id: number; after: Record<string, unknown> }>();

/**
 * Every change made through bull-board is audited like any admin change: who (the key's fingerprint),
 * what (the route's action, its parameters and body), on which queue or job, and the job or the queue's
 * counts before. The record is written before the change, so a change is never made unrecorded; it gets
 * bull-board's answer afterwards, or is withdrawn if bull-board refused (nothing happened). Jobs added or
 * edited by hand must look like the engine's own. Read-only queues are left to bull-board's own 405.
 */
export function auditBoardChanges(board: FastifyInstance, engine: Engine, readOnly: ReadonlySet<QueueName>): void {
  board.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const route = request.routeOptions.url ?? request.url;
    const params = (request.params ?? {}) as BoardParams;
    const queue = isQueueName(params.queueName) ? params.queueName : undefined;
    if (params.queueName !== undefined && (!queue || readOnly.has(queue))) return;
    try {
      if (queue) await validateHandMadeJob(engine, queue, route, request.body);
      const after = { params, query: request.query, body: request.body ?? null };
      const id = await audit(engine.db, {
        actor: adminActor(request),
        action: actionOf(route),
        subject: queue ? (params.jobId !== undefined ? `queue:${queue}/job:${params.jobId}` : `queue:${queue}`) : 'queues',
        before: await snapshot(engine, queue, params),
        after: { ...after, status: 'requested' },
        at: await engine.clock.now(),
      });
      auditIds.set(request, { id, after });
    } catch (error) {
      return refuse(request, reply, error);
    }
  });

  // onSend, not onResponse: the record holds bull-board's answer by the time the admin reads it.
  board.addHook('onSend', async (request, reply, payload) => {
    const record = auditIds.get(request);
    if (!record) return payload;
    auditIds.delete(request);
    const status = reply.statusCode;
    try {
      await settleAudit(engine.db, record.id, status >= 400 && status < 500 ? 'refused' : { after: { ...record.after, status } });
    } catch (error) {
      request.log.error({ err: error, auditId: record.id, status }, 'bull-board change audited without its outcome');
    }
    return payload;
  });
}
