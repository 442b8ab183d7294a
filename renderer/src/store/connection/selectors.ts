import type { RootState } from '../root';

export const selectConnection = (s: RootState) => s.connection;
export const selectNode = (s: RootState) => s.connection.node;
export const selectLinkStatus = (s: RootState) => s.connection.status;
export const selectLastFailure = (s: RootState) => s.connection.lastFailure;
