// Types of infra/functionsLibrary.mjs, for the tests that import it (the project's tsconfig does not check
// JavaScript).
import type { BuildOptions } from 'esbuild';

/** The options a build merges in to take @azure/functions from its sources. */
export declare const functionsLibraryOptions: Pick<
  BuildOptions,
  'plugins' | 'target' | 'external' | 'tsconfigRaw'
>;
