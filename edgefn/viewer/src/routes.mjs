// Route patterns (docs/edge.md): which flags a request path evaluates.
//
// A pattern is an absolute path matched against the whole request path
// (CloudFront's `uri`, still percent-encoded; the query string is not
// part of it), case-sensitively:
//   - a segment `**` matches any number of whole segments, none included
//     (`/shop/**` matches /shop, /shop/, /shop/a/b);
//   - `*` inside a segment matches any run of characters except `/`,
//     empty included (`/blog/*.html`, `/u/*/settings`);
//   - every other character matches itself. Literal characters are
//     RFC 3986 path characters: letters, digits and - . _ ~ ! $ & ' ( ) + , ; = : @ %.
// The first route whose pattern matches wins.

/** MAX_PATTERN bounds a pattern's length in bytes. */
export const MAX_PATTERN = 512;

const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]*$/;

/**
 * patternError returns why pattern is not a valid route pattern, or ""
 * when it is (the same rules as the packager's, edgepack.CheckPattern).
 */
export function patternError(pattern) {
  if (typeof pattern !== "string") return "a pattern is a string";
  if (pattern.length === 0 || pattern[0] !== "/") return "a pattern starts with /";
  if (pattern.length > MAX_PATTERN) return `a pattern is at most ${MAX_PATTERN} bytes`;
  const segs = pattern.slice(1).split("/");
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s === "**") {
      if (i > 0 && segs[i - 1] === "**") return "** follows **";
      continue;
    }
    if (s.includes("**")) return "** must be a whole segment";
    if (!LITERAL.test(s.replaceAll("*", ""))) {
      const bad = [...s.replaceAll("*", "")].find((c) => !LITERAL.test(c));
      return `character ${JSON.stringify(bad)} is not allowed (percent-encode it)`;
    }
  }
  return "";
}

// wildcard matches items against pat, where pat's elements equal to star
// match any run of items (none included) and each other element matches
// one item when same(element, item): the greedy two-pointer match,
// backtracking only to the last star, so the cost is at most the product
// of the two lengths (no regular expression, no exponential backtracking
// on a hostile path). It serves twice: characters within a segment
// ("*"), and segments within a path ("**").
function wildcard(pat, items, star, same) {
  let pi = 0, si = 0, last = -1, mark = 0;
  while (si < items.length) {
    if (pi < pat.length && pat[pi] !== star && same(pat[pi], items[si])) {
      pi++;
      si++;
    } else if (pi < pat.length && pat[pi] === star) {
      last = pi++;
      mark = si;
    } else if (last >= 0) {
      pi = last + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pat.length && pat[pi] === star) pi++;
  return pi === pat.length;
}

const sameChar = (a, b) => a === b;
const sameSegment = (p, s) => wildcard(p, s, "*", sameChar);

/** compilePattern checks pattern and returns its matcher: path → boolean. */
export function compilePattern(pattern) {
  const why = patternError(pattern);
  if (why) throw new Error(`route pattern ${JSON.stringify(pattern)}: ${why}`);
  const pat = pattern.slice(1).split("/");
  return (path) => typeof path === "string" && path[0] === "/" && wildcard(pat, path.slice(1).split("/"), "**", sameSegment);
}

/**
 * Router picks the first route whose pattern matches a path. routes:
 * [{pattern, flags}], already checked.
 */
export class Router {
  constructor(routes) {
    this.routes = routes.map((r, index) => ({ ...r, index, test: compilePattern(r.pattern) }));
  }

  /** match returns the first matching route, or null. */
  match(path) {
    for (const r of this.routes) if (r.test(path)) return r;
    return null;
  }
}
