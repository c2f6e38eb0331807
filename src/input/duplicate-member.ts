/**
 * Member names given twice in one JSON object. JSON.parse keeps the last of `{"a":1,"a":2}`;
 * other readers keep the first, or refuse it. A body Keygate reads must mean one thing to every
 * reader — above all one a gateway route reads to choose the entity a request acts for, which
 * its upstream reads again — so, as I-JSON (RFC 7493 §2.3) requires, such a body is refused;
 * so is a configuration file that sets one field twice.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** An object being read (its names so far, and the current one) or an array (its index). */
type Container =
  | { path: string; names: Set<string>; name: string }
  | { path: string; names?: undefined; index: number };

/** The index of the quote that ends the JSON string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) return at;
    at += code === BACKSLASH ? 2 : 1;
  }
}

/** The path of what a container holds next, named as `param` names fields. */
function childPath(parent: Container | undefined): string {
  if (parent === undefined) return "";
  if (parent.names) return parent.path ? `${parent.path}.${parent.name}` : parent.name;
  return `${parent.path}[${parent.index}]`;
}

/**
 * The first member name that `text` — valid JSON, already parsed — gives twice in one object,
 * as a field path (`name`, `rate_limit.limit`, `items[0].id`); undefined when every name is
 * given once. Names are compared as decoded: `"a"` and `"\u0061"` are the same member.
 */
export function duplicateMember(text: string): string | undefined {
  const open: Container[] = [];
  let nameNext = false;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      const end = stringEnd(text, at);
      const top = open[open.length - 1];
      if (nameNext && top?.names) {
        const name = JSON.parse(text.slice(at, end + 1)) as string;
        if (top.names.has(name)) return childPath({ ...top, name });
        top.names.add(name);
        top.name = name;
        nameNext = false;
      }
      at = end;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      const path = childPath(open[open.length - 1]);
      open.push(code === OPEN_OBJECT ? { path, names: new Set(), name: "" } : { path, index: 0 });
      nameNext = code === OPEN_OBJECT;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      open.pop();
    } else if (code === COMMA) {
      const top = open[open.length - 1];
      if (top?.names) nameNext = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}
