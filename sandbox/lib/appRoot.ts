// Which function app the sandbox's local host serves (`npm start`, and every instance beside it): the
// deployable bundle (`dist/bundle`, written by `npm run build`) unless SANDBOX_APP_ROOT names another
// folder of the checkout, such as `.` for the compiler's output (package.json's `main`, dist/functions).
// The bundle is what a Functions worker loads in Azure, and its host library is compiled for Node 24 with
// native private fields (infra/functionsLibrary.mjs), which halves the local host's cost per request.
import path from 'node:path';

export const DEFAULT_APP_ROOT = 'dist/bundle';

/** The served app's folder, as given (for messages) and resolved against the checkout. */
export function servedApp(
  checkout: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { name: string; root: string } {
  const name = env.SANDBOX_APP_ROOT || DEFAULT_APP_ROOT;
  return { name, root: path.resolve(checkout, name) };
}
