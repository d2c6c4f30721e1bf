import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { parse } from './errors.js';

/**
 * A route described by zod schemas: what its path parameters, query and body must be, and what it
 * answers. The same definition validates the request here and can describe the route in an OpenAPI
 * document, so the two never drift apart.
 */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify's syntax: `/admin/api/accounts/:userId`. */
  url: string;
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The body of the success answer. */
  answer: z.ZodType;
  /** The success status (200 unless said). */
  status?: number;
  /** The error codes this route can answer with, besides validation_failed and unauthorized. */
  errors?: readonly ErrorCode[];
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

/**
 * Registers a defined route: input parsed by its schemas (a 400 naming each field otherwise), the handler's
 * answer typed by its answer schema and sent with its status.
 */
export function mountRoute<D extends RouteDefinition>(
  app: FastifyInstance,
  definition: D,
  handler: (input: RouteInput<D>) => Promise<z.input<D['answer']>>,
): void {
  app.route({
    method: definition.method,
    url: definition.url,
    handler: async (request, reply) => {
      let status = definition.status ?? 200;
      const input = {
        params: definition.params ? parse(definition.params, request.params, 'path') : undefined,
        query: definition.query ? parse(definition.query, request.query, 'query') : undefined,
        body: definition.body ? parse(definition.body, request.body ?? undefined, 'body') : undefined,
        request,
        reply,
        status: (code: number) => {
          status = code;
        },
      } as RouteInput<D>;
      const answer = await handler(input);
      return reply.status(status).send(answer);
    },
  });
}
