// Types of infra/package.mjs, for the tests that import it (the project's tsconfig does not check JavaScript).

/** Packages the Functions Node worker provides at run time; the bundle leaves them external. */
export declare const HOST_PROVIDED_PACKAGES: readonly string[];

/** The package refuses to build; the message says what to do. */
export declare class PackageError extends Error {}

/** A zip archive holding `entries` in the order given. */
export declare function zipEntries(entries: ReadonlyArray<{ name: string; data: Buffer }>): Buffer;

/** Packages the bundle imports that are neither Node built-ins nor provided by the host, with an importer each. */
export declare function externalPackages(bundleDir: string, files?: readonly string[]): Map<string, string>;

export interface PackageBundleOptions {
  /** Directory the other paths are relative to (default: the working directory). */
  root?: string;
  /** The esbuild bundle (default `dist/bundle`). */
  bundleDir?: string;
  /** The zip to write (default `dist/broker.zip`). */
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
