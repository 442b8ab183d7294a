/** Types for scripts/build-cli.mjs (imported by tests). */
export function buildCli(options?: { root?: string; quiet?: boolean }): Promise<{ dir: string; ms: number }>;
export default function setup(): Promise<void>;
