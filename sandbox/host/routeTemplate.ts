// ASP.NET Core route templates as the Functions host matches them: `{p}`, `{p?}`, `{p=def}`, `{*rest}`, `{p:int}`.
//
// The host maps each HTTP function through ASP.NET Core routing (WebScriptHostHttpRoutesManager.cs in
// azure-functions-host), so literals match case-insensitively, a trailing slash is ignored, and route
// values are the percent-decoded path segments (Kestrel keeps `%2F` encoded).

type Constraint = (value: string) => boolean;

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

const integer = /^\s*[+-]?\d+\s*$/;
const float = /^\s*[+-]?(?=[\d,]*\.?\d)[\d,]*(\.\d*)?([eE][+-]?\d+)?\s*$/;
const guid =
  /^\s*(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))\s*$/i;

const inRange = (value: string, min: bigint, max: bigint): boolean => {
  if (!integer.test(value)) return false;
  const n = BigInt(value.trim());
  return n >= min && n <= max;
};

function intArg(name: string, raw: string | undefined): bigint {
  if (raw === undefined || !/^\s*-?\d+\s*$/.test(raw))
    throw new Error(`constraint "${name}" needs integer arguments`);
  return BigInt(raw.trim());
}

/**
 * Builds one inline constraint. Hosted: ASP.NET Core's int, long, bool, guid, alpha, decimal, double,
 * float, min, max, range, minlength, maxlength, length, regex, required. `datetime`, `file`,
 * `nonfile` and unknown names are refused rather than guessed at.
 */
function buildConstraint(spec: string): Constraint {
  const open = spec.indexOf('(');
  const name = (open === -1 ? spec : spec.slice(0, open)).toLowerCase();
  const inner = open === -1 ? undefined : spec.slice(open + 1, spec.lastIndexOf(')'));
  const args = inner === undefined ? [] : inner.split(',');
  const int32 = [-(2n ** 31n), 2n ** 31n - 1n] as const;
  const int64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
  switch (name) {
    case 'int':
      return (v) => inRange(v, ...int32);
    case 'long':
      return (v) => inRange(v, ...int64);
    case 'bool':
      return (v) => /^\s*(true|false)\s*$/i.test(v);
    case 'guid':
      return (v) => guid.test(v);
    case 'alpha':
      return (v) => /^[a-z]*$/i.test(v);
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => float.test(v);
    case 'min': {
      const min = intArg(name, args[0]);
      return (v) => inRange(v, min, int64[1]);
    }
    case 'max': {
      const max = intArg(name, args[0]);
      return (v) => inRange(v, int64[0], max);
    }
    case 'range': {
      const [min, max] = [intArg(name, args[0]), intArg(name, args[1])];
      return (v) => inRange(v, min, max);
    }
    case 'minlength': {
      const min = Number(intArg(name, args[0]));
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const max = Number(intArg(name, args[0]));
      return (v) => v.length <= max;
    }
    case 'length': {
      const min = Number(intArg(name, args[0]));
      const max = args.length > 1 ? Number(intArg(name, args[1])) : min;
      return (v) => v.length >= min && v.length <= max;
    }
    case 'regex': {
      // ASP.NET's RegexRouteConstraint is case-insensitive and not anchored unless the pattern says so.
      const pattern = new RegExp(inner ?? '', 'i');
      return (v) => pattern.test(v);
    }
    case 'required':
      return (v) => v !== '';
    default:
      throw new Error(`route constraint "${name}" is not supported by the local host`);
  }
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
