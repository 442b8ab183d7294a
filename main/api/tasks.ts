/**
 * The tasks domain: task submit (port 1003) — submit, queue, accept/decline, execute, results — and
 * the demo workload's domain, which a plain node does not run (the console's launcher answers it
 * when it runs the demo fleet: main/console/demo.ts).
 */
import { PilotError } from '../../shared/errors';
import type { DemoView } from '../../shared/contract';
import type { ApiContext, DomainHandlers } from './context';

/** What a node without the demo workload answers to `demo.status`. */
export const NO_DEMO: DemoView = { available: false, paused: false, submitted: 0, completed: 0, failed: 0 };

export function taskHandlers({ services }: ApiContext): DomainHandlers<'tasks'> {
  return {
    'tasks.submit': async ({ target, tag, description, traceparent }) =>
      services().taskSubmit({ description, ...(target ? { target } : {}), ...(tag ? { tag } : {}), ...(traceparent ? { traceparent } : {}) }),
    'tasks.list': async ({ category, limit }) => {
      const all = await services().taskList(category);
      return limit !== undefined && all.length > limit ? all.slice(all.length - limit) : all;
    },
    'tasks.get': async ({ taskId }) => services().taskGet(taskId),
    'tasks.queue': async () => services().taskQueue(),
    'tasks.accept': async ({ taskId }) => services().taskAccept(taskId),
    'tasks.decline': async ({ taskId, justification }) => services().taskDecline(taskId, justification),
    'tasks.execute': async () => services().taskExecute(),
    'tasks.result': async ({ taskId }) => services().taskResult(taskId),
    'tasks.sendResults': async ({ taskId, text, filename, dataBase64, traceparent }) => {
      if (text !== undefined) return services().taskSendResults(taskId, { text }, traceparent);
      if (filename !== undefined && dataBase64 !== undefined) return services().taskSendResults(taskId, { filename, data: Buffer.from(dataBase64, 'base64') }, traceparent);
      throw new PilotError('invalid_argument', 'send-results needs --results TEXT or --file PATH');
    },
  };
}

export function demoHandlers(): DomainHandlers<'demo'> {
  return {
    'demo.status': async () => ({ ...NO_DEMO }),
    'demo.setPaused': async () => {
      throw new PilotError('unavailable', 'no demo workload runs here', 'the console runs one with its embedded backbone and demo fleet (not with --no-demo)');
    },
  };
}
