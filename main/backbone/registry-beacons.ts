/** Registry handlers for the beacon directory (registry.md §2.7): beacon_register, beacon_list. */
import { BEACON_TTL_MS } from './protocol';
import { fail, type Handlers } from './registry-model';
import { portOf } from './registry-nodes';

export const beaconHandlers = {
  beacon_register: (m, req, ctx) => {
    if (req.beacon_id === 0) fail('invalid_argument', 'beacon_id must be non-zero');
    if (portOf(req.addr) === undefined) fail('invalid_argument', 'addr must be ip:port');
    m.beacons.set(req.beacon_id, { addr: req.addr, seen: ctx.now });
    return { type: 'beacon_register_ok', beacon_id: req.beacon_id };
  },

  beacon_list: (m, _req, ctx) => {
    const beacons: { id: number; addr: string }[] = [];
    for (const [id, b] of m.beacons) if (ctx.now - b.seen <= BEACON_TTL_MS) beacons.push({ id, addr: b.addr });
    beacons.sort((a, b) => a.id - b.id);
    return { type: 'beacon_list_ok', beacons };
  },
} satisfies Partial<Handlers>;
