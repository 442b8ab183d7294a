/**
 * The stream-relevant part of a packet and the constants every part of a connection shares
 * (stream.ts re-exports the public ones).
 */

export const FLAG_SYN = 0x1;
export const FLAG_ACK = 0x2;
export const FLAG_FIN = 0x4;
export const FLAG_RST = 0x8;

/** The stream-relevant part of a packet; the driver maps it to/from the wire Packet (ports/addresses). */
export interface Segment {
  flags: number;
  seq: number;
  ack: number;
  window: number;
  payload: Uint8Array;
}

/** The payload of segments without data. */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** "Not set" for the time and sequence fields that hold one. */
export const NONE = -1;
