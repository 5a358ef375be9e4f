// The first policy format (issue 4): rules from verified caller principals to named targets, and
// targets (tenant, Entra client, allowed scopes, token source). Schema-checked and compiled once;
// fails closed; every decision carries a reason code. Version 1 is kept forward-compatible: unknown
// top-level keys are refused, so a newer file never half-loads in an older broker.
import { readFile } from 'node:fs/promises';
import type { CallerPrincipal } from './callers/callerVerifier.js';
import { GUID } from './configValues.js';
import { type CallerEntry, callerEntry, callerMatches } from './policyCallers.js';
import * as z from './schema.js';

const TENANT = z
  .string()
  .check(
    z.refine(
      (value) => GUID.test(value) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(value),
      'must be a tenant GUID or domain',
    ),
  );
/** Syntax of target and rule names; a request's `audience` is checked against it before verification. */
export const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const NAME = z.string().check(z.regex(TARGET_NAME, 'must be 1-64 letters, digits, ".", "_" or "-"'));
// Entra's client-credentials flow takes exactly one resource with /.default (protocols.md §A.2).
const SCOPE = z.string().check(z.regex(/^\S+\/\.default$/, 'must be one resource followed by /.default'));

const target = z
  .strictObject({
    tenant: TENANT,
    clientId: z.string().check(z.regex(GUID, 'must be a client id GUID')),
    scopes: z.array(SCOPE).check(z.minLength(1)),
    source: z.enum(['gcpMetadata', 'aws', 'spiffe', 'tokenFile', 'managedIdentity']),
    /** Kept fresh by the refresh timer for every scope, used or not (issue 10). */
    warm: z.optional(z.boolean()),
    /**
     * The refresh timer writes this target's token for `scope` (its only scope when omitted) to a Key Vault
     * secret, for consumers that can only read a secret (issue 10).
     */
    publish: z.optional(
      z.strictObject({
        vaultUrl: z
          .string()
          .check(
            z.refine(
              (value) =>
                URL.canParse(value) &&
                new URL(value).protocol === 'https:' &&
                new URL(value).pathname === '/',
              'must be a vault URL such as https://my-vault.vault.azure.net',
            ),
          ),
        // Key Vault's secret names: 1-127 letters, digits and dashes.
        secretName: z
          .string()
          .check(z.regex(/^[0-9A-Za-z-]{1,127}$/, 'must be 1-127 letters, digits or "-"')),
        scope: z.optional(SCOPE),
      }),
    ),
    description: z.optional(z.string()),
  })
  .check(
    z.superRefine((target, ctx) => {
      if (!target.publish) return;
      const scope = target.publish.scope ?? (target.scopes.length === 1 ? target.scopes[0] : undefined);
      if (scope === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['publish', 'scope'],
          message: 'is required: the target has several scopes',
        });
      else if (!target.scopes.includes(scope))
        ctx.addIssue({
          code: 'custom',
          path: ['publish', 'scope'],
          message: "must be one of the target's scopes",
        });
    }),
  );

/** The scope a target publishes: its `publish.scope`, or its only scope (the schema checked one exists). */
export const publishedScope = (target: Target): string =>
  target.publish?.scope ?? (target.scopes[0] as string);

const policySchema = z
  .strictObject({
    version: z.literal(1),
    targets: z.record(NAME, target),
    rules: z.array(
      z.strictObject({
        name: NAME,
        callers: z.array(callerEntry).check(z.minLength(1)),
        targets: z.array(NAME).check(z.minLength(1)),
      }),
    ),
  })
  .check(
    z.superRefine((policy, ctx) => {
      const names = new Set<string>();
      policy.rules.forEach((rule, index) => {
        if (names.has(rule.name))
          ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: 'is used twice' });
        names.add(rule.name);
        rule.targets.forEach((name, t) => {
          if (!(name in policy.targets)) {
            ctx.addIssue({
              code: 'custom',
              path: ['rules', index, 'targets', t],
              message: `names no target "${name}"`,
            });
          }
        });
      });
    }),
  );

export type Target = z.infer<typeof target> & { name: string };

/** Why the policy decided as it did; goes to the audit line. */
export type PolicyReason =
  | 'rule_matched'
  | 'no_rule_matches'
  | 'unknown_target'
  | 'scope_not_allowed'
  | 'scope_missing';

export type PolicyDecision =
  | { allowed: true; reason: 'rule_matched'; rule: string; target: Target; scope: string }
  | { allowed: false; reason: Exclude<PolicyReason, 'rule_matched'>; target?: Target };

export interface Policy {
  /** Decides whether `caller` may obtain `scope` (or the target's only scope) for `targetName`. */
  decide(caller: CallerPrincipal, targetName: string, scope: string | undefined): PolicyDecision;
  readonly targets: ReadonlyMap<string, Target>;
  /** The caller kinds some rule names: the broker enables a caller path only when the policy uses it. */
  readonly callerKinds: ReadonlySet<CallerPrincipal['kind']>;
}

/** The policy file is invalid; the message lists each problem with its JSON path. */
export class PolicyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

/** Validates a parsed policy document and compiles it. */
export function compilePolicy(document: unknown): Policy {
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) {
    throw new PolicyError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`),
    );
  }
  const targets = new Map(Object.entries(parsed.data.targets).map(([name, t]) => [name, { ...t, name }]));
  const rules = parsed.data.rules;
  // The rules that name each target, in the file's order: a decision looks at these only, without a
  // closure per rule (bench/README.md, tenth round).
  const rulesByTarget = new Map<string, Array<(typeof rules)[number]>>();
  for (const rule of rules)
    for (const name of new Set(rule.targets)) {
      const named = rulesByTarget.get(name);
      if (named) named.push(rule);
      else rulesByTarget.set(name, [rule]);
    }
  return {
    targets,
    callerKinds: new Set(rules.flatMap((rule) => rule.callers.map((caller) => caller.kind))),
    decide(caller, targetName, scope) {
      const found = Object.hasOwn(parsed.data.targets, targetName) ? targets.get(targetName) : undefined;
      if (!found) return { allowed: false, reason: 'unknown_target' };
      const rule = firstMatch(rulesByTarget.get(targetName), caller);
      if (!rule) return { allowed: false, reason: 'no_rule_matches', target: found };
      const chosen = scope ?? (found.scopes.length === 1 ? found.scopes[0] : undefined);
      if (chosen === undefined) return { allowed: false, reason: 'scope_missing', target: found };
      if (!found.scopes.includes(chosen))
        return { allowed: false, reason: 'scope_not_allowed', target: found };
      // The policy's own string, not the caller's (a slice of its request body, which a key built from
      // it and kept for the process would keep whole).
      const own = found.scopes[found.scopes.indexOf(chosen)] as string;
      return { allowed: true, reason: 'rule_matched', rule: rule.name, target: found, scope: own };
    },
  };
}

/** The first of `rules` with a caller entry that matches `caller`. */
function firstMatch<R extends { callers: readonly CallerEntry[] }>(
  rules: readonly R[] | undefined,
  caller: CallerPrincipal,
): R | undefined {
  if (rules === undefined) return undefined;
  for (const rule of rules) for (const entry of rule.callers) if (callerMatches(entry, caller)) return rule;
  return undefined;
}

/** Reads and compiles the policy file; errors name the file and each problem, never its content. */
export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PolicyError([`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new PolicyError([`${path} is not valid JSON`]);
  }
  return compilePolicy(document);
}
