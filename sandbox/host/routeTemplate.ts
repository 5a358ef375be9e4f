// ASP.NET Core route templates as the Functions host matches them: `{p}`, `{p?}`, `{p=def}`, `{*rest}`, `{p:int}`.
//
// The host maps each HTTP function through ASP.NET Core routing (WebScriptHostHttpRoutesManager.cs in
// azure-functions-host), so literals match case-insensitively, a trailing slash is ignored, and route
// values are the percent-decoded path segments (Kestrel keeps `%2F` encoded).

import { buildConstraint, type Constraint } from './routeConstraints.js';

interface LiteralSegment {
  kind: 'literal';
  text: string;
}

interface ParameterSegment {
  kind: 'parameter';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue: string | undefined;
  constraints: Constraint[];
}

type Segment = LiteralSegment | ParameterSegment;

/** A parsed route template, ready to match request paths. */
export interface RouteTemplate {
  template: string;
  segments: Segment[];
  /** ASP.NET's inbound precedence digits, one per segment: lower digits are tried first. */
  precedence: number[];
}

/** Splits `name:int:range(1,5)?` on the colons that are outside parentheses. */
function splitConstraints(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function parseParameter(raw: string): ParameterSegment {
  let body = raw.slice(1, -1);
  const catchAll = body.startsWith('*');
  body = body.replace(/^\*{1,2}/, '');
  let defaultValue: string | undefined;
  let optional = false;
  const parts = splitConstraints(body);
  let last = parts.pop() ?? '';
  const eq = last.indexOf('=');
  if (eq !== -1 && !last.includes('(')) {
    defaultValue = last.slice(eq + 1);
    last = last.slice(0, eq);
  } else if (last.endsWith('?')) {
    optional = true;
    last = last.slice(0, -1);
  }
  parts.push(last);
  const [name = '', ...specs] = parts;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`"${raw}" is not a valid route parameter`);
  return {
    kind: 'parameter',
    name,
    optional,
    catchAll,
    defaultValue,
    constraints: specs.map(buildConstraint),
  };
}

/** Parses a template; throws a message naming what is not supported. */
export function parseRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments: Segment[] = [];
  const raw = trimmed === '' ? [] : trimmed.split('/');
  raw.forEach((text, index) => {
    if (text === '') throw new Error(`route template "${template}" has an empty segment`);
    if (/^\{[^{}]+\}$/.test(text)) {
      const parameter = parseParameter(text);
      if (parameter.catchAll && index !== raw.length - 1) {
        throw new Error(`route template "${template}": a catch-all parameter must be the last segment`);
      }
      segments.push(parameter);
    } else if (/[{}]/.test(text)) {
      throw new Error(
        `route template "${template}": complex segment "${text}" is not supported by the local host`,
      );
    } else {
      segments.push({ kind: 'literal', text });
    }
  });
  const firstOptional = segments.findIndex(
    (s) => s.kind === 'parameter' && (s.optional || s.defaultValue !== undefined),
  );
  if (firstOptional !== -1 && segments.slice(firstOptional).some((s) => s.kind === 'literal')) {
    throw new Error(`route template "${template}": an optional parameter must be at the end`);
  }
  const precedence = segments.map((s) =>
    s.kind === 'literal' ? 1 : s.catchAll ? 5 : s.constraints.length > 0 ? 3 : 4,
  );
  return { template, segments, precedence };
}

/** Kestrel decodes the path but keeps `%2F`, so a value never gains a slash. */
function decodeSegment(segment: string): string {
  return segment
    .split(/%2F/i)
    .map((piece) => {
      try {
        return decodeURIComponent(piece);
      } catch {
        return piece;
      }
    })
    .join('%2F');
}

/**
 * Matches a path (below the route prefix, without query) against a template.
 * Returns the route values (absent optionals left out), or undefined when it does not match.
 */
export function matchRoute(route: RouteTemplate, path: string): Record<string, string> | undefined {
  const trimmed = path.replace(/^\/+/, '').replace(/\/$/, '');
  const parts = trimmed === '' ? [] : trimmed.split('/');
  const values: Record<string, string> = {};
  for (const [i, segment] of route.segments.entries()) {
    const part = parts[i];
    if (segment.kind === 'literal') {
      if (part === undefined || decodeSegment(part).toLowerCase() !== segment.text.toLowerCase())
        return undefined;
      continue;
    }
    if (segment.catchAll) {
      const rest = parts.slice(i).map(decodeSegment).join('/');
      if (rest !== '') values[segment.name] = rest;
      else if (segment.defaultValue !== undefined) values[segment.name] = segment.defaultValue;
      if (rest !== '' && !segment.constraints.every((c) => c(rest))) return undefined;
      return values;
    }
    if (part === undefined || part === '') {
      if (part === '' || (!segment.optional && segment.defaultValue === undefined)) return undefined;
      if (segment.defaultValue !== undefined) values[segment.name] = segment.defaultValue;
      continue;
    }
    const value = decodeSegment(part);
    if (!segment.constraints.every((c) => c(value))) return undefined;
    values[segment.name] = value;
  }
  return parts.length > route.segments.length ? undefined : values;
}

/** Orders templates the way ASP.NET's inbound precedence does: literal before constrained before plain. */
export function comparePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i += 1) {
    const d = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
