// How the deployable bundle builds @azure/functions (infra/bundle.mjs uses these options; a test builds
// the library alone with them and compares it with the package's own build).
//
// The library is compiled here from the TypeScript sources its package ships (src/), for Node 24, instead
// of taken from its dist/: that build targets ES2015, so every `#private` field of its request, response
// and invocation classes becomes a WeakMap lookup through a helper, and those classes are on every
// request's path. Profiled through the local host, the library's request and response conversion took a
// quarter of the CPU of a cached token request; with native private fields the whole request costs about
// half as much (bench/README.md, seventh round). Same sources and exports, and the class-field semantics of
// the library's own build: its tsconfig targets es6, so `useDefineForClassFields` is false there, and here.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** The library's shipped TypeScript sources. */
const functionsLibrarySources = join(dirname(require.resolve('@azure/functions/package.json')), 'src');
const requireFromLibrary = createRequire(join(functionsLibrarySources, 'index.ts'));

/** @type {import('esbuild').Plugin} */
const functionsFromSource = {
  name: 'azure-functions-from-source',
  setup(build) {
    build.onResolve({ filter: /^@azure\/functions$/ }, () => ({
      path: join(functionsLibrarySources, 'index.ts'),
    }));
    // The library's dist require()s this package, and so gets its CommonJS build; its ES module build has
    // only a default export, so the sources' named import of it must find the CommonJS one too.
    build.onResolve({ filter: /^@azure\/functions-extensions-base$/ }, ({ importer }) =>
      importer.startsWith(functionsLibrarySources)
        ? { path: requireFromLibrary.resolve('@azure/functions-extensions-base') }
        : undefined,
    );
  },
};

/** esbuild options for a build that takes @azure/functions from its sources (merge into the build's own). */
export const functionsLibraryOptions = {
  plugins: [functionsFromSource],
  target: 'node24',
  // @azure/functions-core is the Functions Node worker's, provided at run time.
  external: ['@azure/functions-core'],
  // Applies to the only TypeScript in these builds, the library's sources.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
};
