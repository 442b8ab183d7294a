/**
 * Task submit (port 1003): the task file on disk, the wire messages, task ids, the polo reward and
 * the types the task service (tasks.ts) answers with. Pure: no I/O.
 */
import { randomBytes } from 'node:crypto';

export const TASK_STATUSES = ['NEW', 'ACCEPTED', 'DECLINED', 'EXECUTING', 'COMPLETED', 'SUCCEEDED', 'CANCELLED', 'EXPIRED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskCategory = 'received' | 'submitted';

/** A task file on disk (field order as the reference writes it, plus our optional trace fields). */
export interface TaskFile {
  task_id: string;
  task_description: string;
  created_at: string;
  status: string;
  status_justification: string;
  from: string;
  to: string;
  accepted_at?: string;
  staged_at?: string;
  execute_started_at?: string;
  completed_at?: string;
  time_idle_ms?: number;
  time_staged_ms?: number;
  time_cpu_ms?: number;
  trace_id?: string;
  span_id?: string;
  /** Received: our task.receive span; submitted: our task.submit span (W3C traceparent). */
  traceparent?: string;
}

export interface SubmitRequest {
  task_id: string;
  task_description: string;
  from_addr: string;
  to_addr: string;
  trace_id?: string;
  span_id?: string;
  traceparent?: string;
}
export interface SubmitResponse {
  task_id: string;
  status: number;
  message: string;
}
export interface StatusUpdate {
  task_id: string;
  status: string;
  justification: string;
  traceparent?: string;
}
export interface SendResultsMessage {
  task_id: string;
  traceparent?: string;
  result_type: 'text' | 'file';
  result_text?: string;
  filename?: string;
  file_data?: string;
  completed_at: string;
  time_idle_ms?: number;
  time_staged_ms?: number;
  time_cpu_ms?: number;
}

export const TASK_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 16 random bytes as 8-4-4-4-12 lowercase hex (no version bits, like the reference). */
export function newTaskId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Polo reward for a completed task (integer ≥ 1):
 * round_half_up((1 + log2(1 + cpu_min)) × max(0.4, 1 − min(idle_s/60·0.3, 0.3) − min(staged_s/600·0.3, 0.3)))
 */
export function taskReward(t: { cpuMs?: number; idleMs?: number; stagedMs?: number }): number {
  const cpuMin = Math.max(0, t.cpuMs ?? 0) / 60_000;
  const idleS = Math.max(0, t.idleMs ?? 0) / 1000;
  const stagedS = Math.max(0, t.stagedMs ?? 0) / 1000;
  const base = 1 + Math.log2(1 + cpuMin);
  const factor = Math.max(0.4, 1 - Math.min((idleS / 60) * 0.3, 0.3) - Math.min((stagedS / 600) * 0.3, 0.3));
  return Math.max(1, Math.floor(base * factor + 0.5));
}


/** Statuses after which a task changes no more (retention may evict it: tasks-retention.ts). */
export const TERMINAL: ReadonlySet<string> = new Set(['COMPLETED', 'SUCCEEDED', 'DECLINED', 'CANCELLED', 'EXPIRED']);

export interface TaskListEntry {
  task_id: string;
  description: string;
  status: string;
  from: string;
  to: string;
  created_at: string;
  category: TaskCategory;
  trace_id?: string;
  traceparent?: string;
}

export interface SubmitReport {
  target: string;
  task_id: string;
  task: string;
  status: number;
  message: string;
  accepted: boolean;
  trace_id: string;
  traceparent?: string;
}

export type TaskResult = { text: string } | { filename: string; data: Uint8Array };

export interface TaskEvents {
  /** A task arrived (NEW) — worker side. */
  received: [task: TaskFile];
  /** Any task file changed (either side). */
  changed: [change: { category: TaskCategory; task: TaskFile }];
  /** Results arrived for a task we submitted. */
  result: [r: { task_id: string; from: string; path: string; reward: number }];
}
