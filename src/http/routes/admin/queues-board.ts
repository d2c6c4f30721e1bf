import type { FastifyInstance } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Engine } from '../../../engine.js';
import { withoutForeignOrInlineStyles } from './queues-board-page.js';

/**
 * bull-board for every queue of the engine at /admin/queues; the caller scopes it behind admin keys.
 */
export async function queuesBoard(app: FastifyInstance, engine: Engine): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: Object.values(engine.queues).map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Token engine queues' } },
  });
  await app.register(async (board) => {
    board.addHook('onSend', async (_request, reply, payload) => {
      const type = String(reply.getHeader('content-type') ?? '');
      return type.startsWith('text/html') && typeof payload === 'string' ? withoutForeignOrInlineStyles(payload) : payload;
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' });
  });
}
