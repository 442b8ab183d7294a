/** Test helper: a datagram socket that sends only to the given endpoints (the beacons). */
import { sameHost, type DatagramSocket, type UdpEndpoint } from '../udp';

/**
 * Wraps a real UDP socket so that it sends only to `allowed` (the beacons): a node on it has no
 * direct path to any peer, so every frame between peers has to go through a beacon's relay.
 */
export function beaconOnly(inner: DatagramSocket, allowed: readonly UdpEndpoint[]): DatagramSocket {
  return {
    send: (data, to) => {
      if (allowed.some((a) => a.port === to.port && sameHost(a.host, to.host))) inner.send(data, to);
    },
    onMessage: (h) => inner.onMessage(h),
    local: () => inner.local(),
    close: () => inner.close(),
  };
}
