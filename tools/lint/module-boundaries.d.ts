import type { Linter } from 'eslint';

export declare const FRAMEWORK_PACKAGES: readonly string[];
export declare const BANNED_BUILTINS: readonly string[];
export declare const FRAMEWORK_FREE_TYPES: readonly string[];
export declare const depConstraints: readonly Record<string, unknown>[];
export declare function listProjects(root?: string): { name: string; root: string; tags: string[] }[];
export declare function boundaryConfigs(root?: string): Linter.Config[];
