import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/http/openapi.js';

/**
 * Holds every answer a test receives through test/support/engine.ts to the OpenAPI document the engine
 * serves: its status must be one the document gives that operation, and its body must match the schema
 * of that status (an error's `code` one of those it lists). An answer that differs throws, so the test
 * that received it fails, and the whole suite checks the document.
 */

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  params: number;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

// Pages for people, which the document leaves out by design: the admin console, bull-board, /docs.
export const pagePaths = [/^\/admin\/?$/, /^\/admin\/(features|plans|accounts|rewards|operations)(\/|$)/, /^\/admin\/assets\//, /^\/admin\/queues(\/|$)/, /^\/docs(\/|$)/];

let operations: Operation[] | undefined;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();

function loadOperations(): Operation[] {
  const document = openApiDocument() as { paths: Record<string, Record<string, Operation['responses'] extends infer R ? { responses: R } : never>> };
  ajv.addSchema(document, 'openapi.json');
  return Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
      responses: op.responses,
    })),
  );
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function validatorFor(op: Operation, status: string, mediaType: string): ValidateFunction {
  const key = `${op.method} ${op.template} ${status} ${mediaType}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi.json#/${pointer('paths', op.template, op.method.toLowerCase(), 'responses', status, 'content', mediaType, 'schema')}` });
    validators.set(key, validate);
  }
  return validate;
}

/** The documented operation a request reaches: a path without parameters wins, as in the router. */
function operationOf(method: string, path: string): Operation | undefined {
  operations ??= loadOperations();
  return operations.filter((o) => o.method === method && o.pattern.test(path)).sort((a, b) => a.params - b.params)[0];
}

export class UndocumentedAnswer extends Error {
  override name = 'UndocumentedAnswer';
}

export function checkAgainstDocument(method: string, url: string, answer: { status: number; contentType: string | null; body: unknown }): void {
  const upper = method.toUpperCase();
  if (upper === 'HEAD' || upper === 'OPTIONS') return;
  const path = url.split('?')[0]!;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a path the router refuses: it must be answered like any unknown one
  }
  if (pagePaths.some((p) => p.test(decoded))) return;
  const where = `${upper} ${path} answered ${answer.status}`;
  const error = (answer.body as { error?: { code?: unknown } } | null)?.error;
  const op = operationOf(upper, path);
  if (!op) {
    // No route: the document's general 404 (or a refusal before any route: a bad URL, a timeout).
    if ([400, 404, 408, 413, 415, 431].includes(answer.status) && typeof error?.code === 'string') return;
    throw new UndocumentedAnswer(`${where}, but the OpenAPI document has no operation ${upper} for this path: ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  // 408 and 431 come from the HTTP server before any route runs (the document's description says so).
  if ((answer.status === 408 || answer.status === 431) && typeof error?.code === 'string') return;
  const status = String(answer.status);
  const response = op.responses[status] ?? op.responses[`${status[0]}XX`];
  if (!response) {
    throw new UndocumentedAnswer(`${where}, a status the document does not give ${upper} ${op.template} (${Object.keys(op.responses).join(', ')}): ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  const mediaTypes = Object.keys(response.content ?? {});
  if (mediaTypes.length === 0) return;
  const given = (answer.contentType ?? '').split(';')[0]!.trim();
  const mediaType = mediaTypes.find((m) => m.split(';')[0]!.trim() === given);
  if (!mediaType) throw new UndocumentedAnswer(`${where} as ${given || 'no content type'}; the document says ${mediaTypes.join(', ')}`);
  if (mediaType === 'text/event-stream') return;
  const validate = validatorFor(op, status, mediaType);
  if (!validate(answer.body)) {
    throw new UndocumentedAnswer(
      `${where} with a body that does not match the document's schema for ${upper} ${op.template} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(answer.body).slice(0, 600)}`,
    );
  }
}
