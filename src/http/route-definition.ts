import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { z } from 'zod';
import { EngineError, type ErrorCode } from '../errors.js';
import { describeIssues } from '../validation.js';
import { parse } from './errors.js';

/**
 * A route described by zod schemas: what its path parameters, query and body must be, and what it
 * answers. The same definition validates the request, shapes the answer (mountRoute) and describes the
 * route in the OpenAPI document (src/http/openapi.ts), so the three never drift apart.
 */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify's syntax: `/admin/api/accounts/:userId`. Who may call it follows from it (openapi.ts). */
  url: string;
  summary: string;
  /** Longer prose for the document, when the summary cannot say it all. */
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The handler reads the body's bytes itself (a signature covers them): `body` only documents it. */
  rawBody?: boolean;
  /** Request headers the route reads (documentation only: they are read by the handler). */
  headers?: z.ZodObject;
  /** The body of the success answer. */
  answer: z.ZodType;
  /** The success status (200 unless said). */
  status?: number;
  /** Other statuses the handler may answer with the same body (`status(code)`), and what each means. */
  otherStatuses?: Readonly<Record<number, string>>;
  /** The answer's media type: JSON unless said (`text/plain` for /metrics, `text/event-stream` for SSE). */
  answerType?: string;
  /** The error codes this route can answer with, besides those every route of its kind can (openapi.ts). */
  errors?: readonly ErrorCode[];
  /** Answers without touching PostgreSQL or Redis: no 503 dependency_unavailable. */
  standalone?: boolean;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<D extends RouteDefinition> {
  params: Parsed<D['params']>;
  query: Parsed<D['query']>;
  body: Parsed<D['body']>;
  request: FastifyRequest;
  reply: FastifyReply;
  /** Answers with another success status than the definition's (e.g. 200 for a create that was a replay). */
  status(code: number): void;
}

/** Keeps a definition's literal types (for the handler's input and answer). */
export function defineRoute<const D extends RouteDefinition>(definition: D): D {
  return definition;
}

/** What a route's handler answers: the input type of its answer schema (Dates are not strings, etc.). */
export type Answer<D extends RouteDefinition> = z.input<D['answer']>;

/**
 * Every answer goes out through its schema: what the document does not name is dropped, and an answer
 * the schema refuses is a 500 logged with the route and the issues, never a body that differs from the
 * document in silence.
 */
function shaped(definition: RouteDefinition, answer: unknown, request: FastifyRequest): unknown {
  const result = definition.answer.safeParse(answer);
  if (result.success) return result.data;
  const issues = describeIssues(result.error);
  request.log.error({ route: `${definition.method} ${definition.url}`, issues }, 'an answer does not match its documented schema');
  throw new EngineError('internal_error', 'internal error; it has been logged');
}

/**
 * Registers a defined route: input parsed by its schemas (a 400 naming each field otherwise), the handler's
 * answer typed by its answer schema, sent through it with its status. `options` are Fastify's own route
 * options (a body limit, a hook of this route only).
 */
export function mountRoute<D extends RouteDefinition>(
  app: FastifyInstance,
  definition: D,
  handler: (input: RouteInput<NoInfer<D>>) => Promise<Answer<NoInfer<D>>>,
  options: Pick<RouteShorthandOptions, 'bodyLimit' | 'onRequest'> = {},
): void {
  app.route({
    ...options,
    method: definition.method,
    url: definition.url,
    handler: async (request, reply) => {
      let status = definition.status ?? 200;
      const input = {
        params: definition.params ? parse(definition.params, request.params, 'path') : undefined,
        query: definition.query ? parse(definition.query, request.query, 'query') : undefined,
        body: definition.body && !definition.rawBody ? parse(definition.body, request.body ?? undefined, 'body') : undefined,
        request,
        reply,
        status: (code: number) => {
          status = code;
        },
      } as RouteInput<D>;
      const answer = shaped(definition, await handler(input), request);
      if (definition.answerType) reply.type(definition.answerType);
      return reply.status(status).send(answer);
    },
  });
}
