/** What the Tasks view can ask for: pause or resume the demo workload (the outcome lands in the tasks slice). */
import { toCallError } from '../api/errors';
import { demoChanged, demoPauseFailed, demoPauseRequested } from '../store/tasks/actions';
import { getClient } from './client';

export async function setDemoPaused(paused: boolean): Promise<void> {
  demoPauseRequested(paused);
  try {
    demoChanged(await getClient().call('demo.setPaused', { paused }));
  } catch (e) {
    demoPauseFailed(toCallError(e).message);
  }
}
