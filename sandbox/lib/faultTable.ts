// A stand-in's table of injected faults (sandbox only) and the admin routes that edit it: a fault is added
// as JSON checked by the stand-in's schema, gets an id, and is used by the first request it matches until
// its `count` runs out. The stand-ins differ only in what a fault holds and what it matches.
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { z } from 'zod';

/** A stored fault: its spec, an id and how many uses are left (null = unlimited). */
export type StoredFault<Spec> = Spec & { id: string; remaining: number | null };

export class FaultTable<Spec extends { count?: number | undefined }> {
  readonly #faults: StoredFault<Spec>[] = [];

  add(spec: Spec): StoredFault<Spec> {
    const fault: StoredFault<Spec> = { ...spec, id: randomUUID(), remaining: spec.count ?? null };
    this.#faults.push(fault);
    return { ...fault };
  }

  list(): StoredFault<Spec>[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  remove(id: string): boolean {
    const index = this.#faults.findIndex((fault) => fault.id === id);
    if (index >= 0) this.#faults.splice(index, 1);
    return index >= 0;
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /** The first fault with uses left that `matches`, one use consumed; a copy. */
  protected takeFirst(matches: (fault: StoredFault<Spec>) => boolean): StoredFault<Spec> | undefined {
    const fault = this.#faults.find(
      (candidate) => (candidate.remaining === null || candidate.remaining > 0) && matches(candidate),
    );
    if (fault?.remaining != null) fault.remaining -= 1;
    return fault ? { ...fault } : undefined;
  }
}

/**
 * `POST /faults` (201 `{fault}`; 400 `{error: 'invalid_fault', issues}` naming each refused field),
 * `GET /faults` (`{faults}`), `DELETE /faults` and `DELETE /faults/:id` (204, or 404 for an unknown id).
 */
export function mountFaultRoutes<Spec extends { count?: number | undefined }>(
  app: Hono,
  schema: z.ZodType<Spec>,
  table: FaultTable<Spec>,
): void {
  app.post('/faults', async (c) => {
    const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`,
      );
      return c.json({ error: 'invalid_fault', issues }, 400);
    }
    return c.json({ fault: table.add(parsed.data) }, 201);
  });
  app.get('/faults', (c) => c.json({ faults: table.list() }));
  app.delete('/faults', (c) => {
    table.clear();
    return c.body(null, 204);
  });
  app.delete('/faults/:id', (c) => c.body(null, table.remove(c.req.param('id')) ? 204 : 404));
}
