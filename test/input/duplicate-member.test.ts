import { describe, expect, test } from "bun:test";
import { duplicateMember } from "../../src/input/duplicate-member.ts";
import { type Random, seededRandom } from "../support/random.ts";

/** A JSON value as written: an object is its members in order, names possibly repeated. */
type Written = { object: [string, Written][] } | { array: Written[] } | { scalar: string };

const NAMES = ["a", "b", "id", 'q"uote', "back\\slash", "é", "😀", ""];
const SCALARS = [
  '"text"',
  '"a"',
  '"{\\"a\\":1,\\"a\\":2}"',
  '"[,]"',
  "1.5e3",
  "-0",
  "true",
  "null",
];

function written(rng: Random, depth: number): Written {
  if (depth > 3 || rng.chance(0.35)) return { scalar: rng.pick(SCALARS) };
  if (rng.chance(0.5))
    return { array: Array.from({ length: rng.int(4) }, () => written(rng, depth + 1)) };
  const names = NAMES.slice(0, 2 + rng.int(NAMES.length - 1));
  const members: [string, Written][] = [];
  for (let n = rng.int(5); n > 0; n--) members.push([rng.pick(names), written(rng, depth + 1)]);
  return { object: members };
}

/** A name as JSON text: plainly, or with every character escaped as \uXXXX. */
function nameText(rng: Random, name: string): string {
  if (!rng.chance(0.3)) return JSON.stringify(name);
  const escaped = [...name]
    .flatMap((ch) => (ch.length === 2 ? [ch[0], ch[1]] : [ch]))
    .map((unit) => `\\u${(unit as string).charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `"${escaped.join("")}"`;
}

function text(rng: Random, value: Written): string {
  const space = () => rng.pick(["", " ", "\n  "]);
  if ("scalar" in value) return value.scalar;
  if ("array" in value)
    return `[${space()}${value.array.map((v) => text(rng, v)).join(`,${space()}`)}]`;
  const members = value.object.map(
    ([name, v]) => `${nameText(rng, name)}${space()}:${space()}${text(rng, v)}`,
  );
  return `{${space()}${members.join(`${space()},`)}${space()}}`;
}

/** The reference: the first repeated name in document order, named as the scanner names it. */
function firstRepeat(value: Written, path: string): string | undefined {
  if ("scalar" in value) return undefined;
  if ("array" in value) {
    for (const [i, item] of value.array.entries()) {
      const found = firstRepeat(item, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (const [name, item] of value.object) {
    const at = path ? `${path}.${name}` : name;
    if (seen.has(name)) return at;
    seen.add(name);
    const found = firstRepeat(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe("duplicateMember", () => {
  test("names the first member given twice, by its path; a name in a string value is no member", () => {
    expect(duplicateMember('{"name":"a","scopes":["x"]}')).toBeUndefined();
    expect(duplicateMember('{"name":"a","name":"b"}')).toBe("name");
    expect(duplicateMember('{"name":"a","\\u006eame":"b"}')).toBe("name");
    expect(duplicateMember('{"rate_limit":{"limit":1,"limit":2}}')).toBe("rate_limit.limit");
    expect(duplicateMember('{"items":[{"id":1},{"id":2,"id":3}]}')).toBe("items[1].id");
    expect(duplicateMember('{"a":{"x":1},"b":{"x":1}}')).toBeUndefined();
    expect(duplicateMember('{"note":"\\"note\\":1,\\"note\\":2"}')).toBeUndefined();
    expect(duplicateMember('[{"a":1},{"a":1}]')).toBeUndefined();
    expect(duplicateMember('"text"')).toBeUndefined();
  });

  test("agrees with a reference on seeded random JSON texts (escapes, nesting, whitespace)", () => {
    const rng = seededRandom(20261124);
    let repeats = 0;
    for (let round = 0; round < 3000; round++) {
      const value = written(rng, 0);
      const json = text(rng, value);
      JSON.parse(json); // the scanner reads only valid JSON
      const expected = firstRepeat(value, "");
      if (expected !== undefined) repeats++;
      expect([json, duplicateMember(json)]).toEqual([json, expected]);
    }
    expect(repeats).toBeGreaterThan(300);
  });
});
