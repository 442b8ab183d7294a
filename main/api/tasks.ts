/** The tasks domain: task submit (port 1003) — submit, queue, accept/decline, execute, results. */
import { PilotError } from '../../shared/errors';
import type { ApiContext, DomainHandlers } from './context';

export function taskHandlers({ services }: ApiContext): DomainHandlers<'tasks'> {
  return {
    'tasks.submit': async ({ target, tag, description, traceparent }) =>
      services().taskSubmit({ description, ...(target ? { target } : {}), ...(tag ? { tag } : {}), ...(traceparent ? { traceparent } : {}) }),
    'tasks.list': async ({ category }) => services().taskList(category),
    'tasks.queue': async () => services().taskQueue(),
    'tasks.accept': async ({ taskId }) => services().taskAccept(taskId),
    'tasks.decline': async ({ taskId, justification }) => services().taskDecline(taskId, justification),
    'tasks.execute': async () => services().taskExecute(),
    'tasks.sendResults': async ({ taskId, text, filename, dataBase64, traceparent }) => {
      if (text !== undefined) return services().taskSendResults(taskId, { text }, traceparent);
      if (filename !== undefined && dataBase64 !== undefined) return services().taskSendResults(taskId, { filename, data: Buffer.from(dataBase64, 'base64') }, traceparent);
      throw new PilotError('invalid_argument', 'send-results needs --results TEXT or --file PATH');
    },
  };
}
