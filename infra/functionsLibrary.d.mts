// Types of infra/functionsLibrary.mjs, for the tests that import it (the project's tsconfig does not check
// JavaScript).
import type { BuildOptions, Plugin } from 'esbuild';

/** The directory of @azure/functions's shipped TypeScript sources. */
export declare const functionsLibrarySources: string;
/** Resolves `@azure/functions` to those sources. */
export declare const functionsFromSource: Plugin;
/** The options a build merges in to take @azure/functions from its sources. */
export declare const functionsLibraryOptions: Pick<
  BuildOptions,
  'plugins' | 'target' | 'external' | 'tsconfigRaw'
>;
