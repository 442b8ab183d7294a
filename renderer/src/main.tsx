import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { pickClient } from './api/pick';
import { App } from './App';
import { setClient } from './app/client';
import { connectStore } from './app/sync';
import { setDispatchScheduler } from './store/root';
import './styles.css';

// Node events can come by the hundred per second: apply them once per frame (or every 100 ms while
// the page is hidden and frames stop).
setDispatchScheduler((flush) => {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    flush();
  };
  requestAnimationFrame(run);
  setTimeout(run, 100);
});

const client = pickClient({ pilot: window.pilot, location: window.location });
setClient(client);
if (client) connectStore(client);
if (!window.location.hash) window.location.hash = '#/fleet';

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App missingClient={!client} />
    </StrictMode>,
  );
