import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { EngineError } from '../errors.js';
import { findUnstorable } from '../validation.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Every JSON body is checked once, here, for every route: it must be UTF-8 (a wrong byte is refused, not
 * turned into U+FFFD), nest no deeper than the engine can walk, and hold no string PostgreSQL cannot
 * store. Only a body with a `\u` escape can hide U+0000 or a lone surrogate (raw control characters are
 * not JSON, and strict UTF-8 has no surrogates), so the strings are walked only then.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    let text: string;
    try {
      text = utf8.decode(raw as Buffer);
    } catch {
      return done(new EngineError('validation_failed', 'the body is not valid UTF-8'), undefined);
    }
    void parseJson(request, text, (error: Error | null, value?: unknown) => {
      // A body nested deeper than the parser's own stack is a RangeError with no status: still bad JSON.
      if (error) {
        const status = (error as { statusCode?: number }).statusCode;
        return done(status ? error : new EngineError('validation_failed', 'the body is not valid JSON'), undefined);
      }
      const problem = findUnstorable(value, { checkText: text.includes('\\u') });
      if (problem) return done(new EngineError('validation_failed', `invalid body: ${problem.path} ${problem.message}`, [problem]), undefined);
      done(null, value);
    });
  });
}

/** Path parameters and the query string are strings too: the same refusal, for every route (a callback hook: no promise per request). */
export function refuseUnstorableUrlText(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  for (const [part, value] of [['params', request.params], ['query', request.query]] as const) {
    const problem = findUnstorable(value, { maxDepth: 4 });
    if (problem) return done(new EngineError('validation_failed', `invalid ${part}: ${problem.path} ${problem.message}`, [{ ...problem, path: `${part}.${problem.path}` }]));
  }
  done();
}
