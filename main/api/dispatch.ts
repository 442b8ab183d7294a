/**
 * The one place where a console request from an untrusted face (a renderer over Electron IPC, a
 * browser over the WebSocket, pilotctl over the daemon's IPC extension) is checked and executed:
 * envelope shape, method name, arguments against `methodSchemas[method]` — once, here — then the
 * service call; every outcome becomes a ResponseEnvelope.
 */
import { z } from 'zod';
import { isMethodName, methodSchemas, type MethodArgs, type MethodName, type ResponseEnvelope } from '../../shared/contract';
import { isPilotError } from '../../shared/errors';
import { isForwarding, type ConsoleService } from './service';

const envelopeSchema = z
  .object({
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().max(64),
    params: z.unknown().optional(),
  })
  .strict();

export type ValidatedRequest = { [M in MethodName]: { method: M; args: MethodArgs<M> } }[MethodName];

export type ValidationResult =
  | { ok: true; request: ValidatedRequest }
  | { ok: false; error: { code: 'invalid_argument' | 'not_found'; message: string } };

/** Checks a method name and its arguments against the contract. */
export function validateCall(method: unknown, params: unknown): ValidationResult {
  if (!isMethodName(method)) return { ok: false, error: { code: 'not_found', message: `unknown method ${JSON.stringify(method)}` } };
  const parsed = methodSchemas[method].safeParse(params ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
    return { ok: false, error: { code: 'invalid_argument', message: `${method}: ${first?.message ?? 'invalid arguments'}${where}` } };
  }
  return { ok: true, request: { method, args: parsed.data } as ValidatedRequest };
}

/** Maps whatever a service call ended with to the response envelope. */
async function respond(id: number, run: () => Promise<unknown>): Promise<ResponseEnvelope> {
  try {
    return { id, ok: true, result: await run() };
  } catch (e) {
    if (isPilotError(e)) return { id, ok: false, error: e.toJSON() };
    const message = e instanceof Error ? e.message : String(e);
    return { id, ok: false, error: { code: 'internal', message } };
  }
}

/** Runs an already validated request against the service, mapping failures to the error half of an envelope. */
export function execute(service: ConsoleService, id: number, req: ValidatedRequest): Promise<ResponseEnvelope> {
  // The union is correlated (method M with MethodArgs<M>); TypeScript cannot see that through `call`'s generic.
  return respond(id, () => service.call(req.method, req.args as never));
}

/**
 * Parses a raw request envelope (already JSON-decoded), validates it and calls the service. A
 * forwarding service (a daemon in another process, which validates at its own boundary) gets the
 * known method with its arguments unparsed: each request is validated once.
 */
export async function dispatchRequest(service: ConsoleService, raw: unknown): Promise<ResponseEnvelope> {
  const env = envelopeSchema.safeParse(raw);
  if (!env.success) {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : -1;
    return { id, ok: false, error: { code: 'invalid_argument', message: 'malformed request envelope: expected {id, method, params}' } };
  }
  const { id, method, params } = env.data;
  if (isForwarding(service)) {
    if (!isMethodName(method)) return { id, ok: false, error: { code: 'not_found', message: `unknown method ${JSON.stringify(method)}` } };
    return respond(id, () => service.forward(method, params ?? {}));
  }
  const checked = validateCall(method, params);
  if (!checked.ok) return { id, ok: false, error: checked.error };
  return execute(service, id, checked.request);
}
