// Types of infra/package.mjs, for the tests that import it (the project's tsconfig does not check JavaScript).

/** The package refuses to build; the message says what to do. */
export declare class PackageError extends Error {}

export interface PackageBundleOptions {
  /** The esbuild bundle (default `dist/bundle`, relative to the working directory). */
  bundleDir?: string;
  /** The zip to write (default `dist/broker.zip`, relative to the working directory). */
  out?: string;
  /** A policy JSON file to add as `policy.json` at the zip's root. */
  policyFile?: string;
}

export interface PackageBundleResult {
  out: string;
  entries: Array<{ name: string; size: number }>;
  bytes: number;
}

/** Packs the bundle into a zip for zip deploy; throws PackageError on a missing or incomplete bundle. */
export declare function packageBundle(options?: PackageBundleOptions): PackageBundleResult;
