// Inline route constraints (`{id:int}`, `{n:range(1,5)}`...) with ASP.NET Core's semantics, as the host applies them.

/** Accepts or rejects one route value. */
export type Constraint = (value: string) => boolean;

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
export function buildConstraint(spec: string): Constraint {
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
