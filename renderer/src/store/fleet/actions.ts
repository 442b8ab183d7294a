import type { FleetHistoryView, FleetMatrixView, FleetProbeView, WhyPathView } from '../../../../shared/contract';
import { dispatch } from '../root';
import type { FleetError } from './state';

export const fleetMatrixRequested = (at = Date.now()): void => dispatch({ type: 'fleetMatrixRequested', at });
export const fleetMatrixReceived = (matrix: FleetMatrixView, at = Date.now()): void => dispatch({ type: 'fleetMatrixReceived', matrix, at });
export const fleetMatrixFailed = (error: FleetError, at = Date.now()): void => dispatch({ type: 'fleetMatrixFailed', error, at });
export const fleetPairSelected = (a: number, b: number): void => dispatch({ type: 'fleetPairSelected', a, b });
export const fleetHistoryReceived = (history: FleetHistoryView): void => dispatch({ type: 'fleetHistoryReceived', history });
export const fleetProbeStarted = (from: number, to: number, at = Date.now()): void => dispatch({ type: 'fleetProbeStarted', from, to, at });
export const fleetProbeAnswered = (from: number, to: number, result: FleetProbeView, at = Date.now()): void => dispatch({ type: 'fleetProbeAnswered', from, to, result, at });
export const fleetProbeFailed = (from: number, to: number, error: FleetError, at = Date.now()): void => dispatch({ type: 'fleetProbeFailed', from, to, error, at });
export const whyRequested = (key: string, at = Date.now()): void => dispatch({ type: 'whyRequested', key, at });
export const whyAnswered = (key: string, view: WhyPathView, at = Date.now()): void => dispatch({ type: 'whyAnswered', key, view, at });
export const whyFailed = (key: string, error: FleetError, at = Date.now()): void => dispatch({ type: 'whyFailed', key, error, at });
