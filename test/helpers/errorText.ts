// Everything an error could put in a log if someone printed it whole: each error in its cause chain,
// with hidden properties (an SDK error keeps its request and response there), as util.inspect shows them.
import { inspect } from 'node:util';

export function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(String(current), inspect(current, { showHidden: true, depth: 8, getters: true }));
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}
