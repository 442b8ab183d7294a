import { describe, it, expect } from 'vitest';
import { createLogger } from '../util/log';
import { LogRing } from './logs';

describe('LogRing filters', () => {
  it('by level, peer, trace id and component (or service), newest last, limited', () => {
    const ring = new LogRing(100);
    const log = createLogger({ level: 'debug', sinks: [ring.sink], now: () => 0 });
    const svc = log.child({ component: 'services' }).child({ service: 'trust' });
    svc.info('trust request', { peer: 7 });
    svc.debug('poll', { peer: 8 });
    log.child({ component: 'tasks', trace_id: 'ab' }).warn('task refused', { peer: 7 });
    log.child({ component: 'tunnel' }).error('bad packet');
    const msgs = (q: Parameters<LogRing['tail']>[0]): string[] => ring.tail(q).map((l) => l.msg);
    expect(msgs({ level: 'warn' })).toEqual(['task refused', 'bad packet']);
    expect(msgs({ peer: 7 })).toEqual(['trust request', 'task refused']);
    expect(msgs({ traceId: 'ab' })).toEqual(['task refused']);
    expect(msgs({ component: 'trust' })).toEqual(['trust request', 'poll']);
    expect(msgs({ component: 'services', level: 'info' })).toEqual(['trust request']);
    expect(msgs({ limit: 2 })).toEqual(['task refused', 'bad packet']);
    expect(ring.tail({ traceId: 'ab' })[0]!.fields).toMatchObject({ component: 'tasks', trace_id: 'ab', peer: 7 });
  });
});
