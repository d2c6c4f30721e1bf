import type { FastifyInstance } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Engine } from '../../../engine.js';
import type { QueueName } from '../../../queues.js';
import { auditBoardChanges } from './queues-board-audit.js';
import { withoutForeignOrInlineStyles } from './queues-board-page.js';

/**
 * Accepted usage and Stripe's payments live only in these queues until a worker applies them: removing
 * a job loses what a caller was told was accepted, and adding one skips every intake check. bull-board
 * shows them and refuses every change to them (405); their failures are handled through the admin API.
 */
export const readOnlyBoardQueues: ReadonlySet<QueueName> = new Set(['usage', 'payment']);

/**
 * bull-board for every queue of the engine at /admin/queues; the caller scopes it behind admin keys.
 * Changes made through it to the other queues are validated and audited (queues-board-audit.ts).
 */
export async function queuesBoard(app: FastifyInstance, engine: Engine): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: Object.entries(engine.queues).map(
      ([name, q]) => new BullMQAdapter(q, { readOnlyMode: readOnlyBoardQueues.has(name as QueueName) }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Token engine queues' } },
  });
  await app.register(async (board) => {
    auditBoardChanges(board, engine, readOnlyBoardQueues);
    board.addHook('onSend', async (_request, reply, payload) => {
      const type = String(reply.getHeader('content-type') ?? '');
      return type.startsWith('text/html') && typeof payload === 'string' ? withoutForeignOrInlineStyles(payload) : payload;
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' });
  });
}
