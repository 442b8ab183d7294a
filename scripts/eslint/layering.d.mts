import type { Rule } from 'eslint';

declare const rule: Rule.RuleModule;
export default rule;
/** The folders that have a layer. */
export declare const LAYER_DIRS: string[];
