/** Path patterns read as the router reads them (src/http/path-pattern.ts). */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import {
  compilePathPattern,
  pathPatternFault,
  patternsOverlap,
} from "../../src/http/path-pattern.ts";

const PATTERNS = [
  "/",
  "/v1/me",
  "/v1/api-keys/:id",
  "/v1/api-keys/:id/rotate",
  "/files/*",
  "/v1/api-keys*",
  "/*",
  "/a/:id/*",
  "/a.b",
  "/files/:name.json",
  "/x-y/~z",
];

const PATHS = [
  "/",
  "/v1/me",
  "/v1/me/",
  "/v1/me//",
  "/v1/mex",
  "/v1/api-keys",
  "/v1/api-keys/",
  "/v1/api-keys/key_1",
  "/v1/api-keys/key_1/",
  "/v1/api-keys/key_1/rotate",
  "/v1/api-keys/key_1/rotate/",
  "/v1/api-keys/key_1/x/rotate",
  "/v1/api-keysx",
  "/files",
  "/files/",
  "/files/a/b",
  "/a",
  "/a/1",
  "/a/1/",
  "/a/1/2/3",
  "/a.b",
  "/aXb",
  "/files/report.json",
  "/x-y/~z",
];

describe("compilePathPattern", () => {
  test("covers exactly the paths Elysia's router serves with the same pattern", async () => {
    const disagreements: string[] = [];
    for (const pattern of PATTERNS) {
      const app = new Elysia().get(pattern, () => "served");
      const regexp = compilePathPattern(pattern);
      for (const path of PATHS) {
        const reply = await app.handle(new Request(`http://localhost${path}`));
        const served = reply.status === 200 && (await reply.text()) === "served";
        if (regexp.test(path) !== served)
          disagreements.push(`${pattern} ${path}: router ${served}, pattern ${!served}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  test("a literal is matched as written, never as a regular expression", () => {
    expect(compilePathPattern("/a.b").test("/aXb")).toBe(false);
    expect(compilePathPattern("/a+b(c)").test("/a+b(c)")).toBe(true);
  });
});

describe("pathPatternFault", () => {
  test("passes what the router and the rules read alike", () => {
    for (const pattern of PATTERNS) expect(pathPatternFault(pattern), pattern).toBeUndefined();
  });

  test("refuses what the router would read otherwise, saying how to write it", () => {
    expect(pathPatternFault("/a/*/b")).toBe(
      "a * stands for the rest of the path, so it comes last (/files/*)",
    );
    expect(pathPatternFault("/orders/x:id")).toBe(
      'a :parameter is a whole segment (/orders/:id): "x:id" has a : inside it',
    );
    expect(pathPatternFault("/orders/:")).toBe("a :parameter needs a name (/orders/:id)");
    expect(pathPatternFault("/orders/:id*")).toBe(
      "a * cannot end a :parameter; put it in a segment of its own (/orders/:id/*)",
    );
    expect(pathPatternFault("/orders/:id?")).toStartWith("a pattern matches the path, never");
    expect(pathPatternFault("orders")).toBe("must start with /");
  });

  test("refuses a pattern no request could match, and OpenAPI's {name}", () => {
    // The gateway refuses a request with an empty segment; the server resolves dot segments.
    expect(pathPatternFault("/a//x")).toStartWith("has an empty segment (//)");
    expect(pathPatternFault("/a/./x")).toStartWith("has a . or .. segment");
    expect(pathPatternFault("/a/../x")).toStartWith("has a . or .. segment");
    expect(pathPatternFault("/a/:id/b/:id")).toBe(
      "names the parameter :id twice; give each its own name",
    );
    expect(pathPatternFault("/orders/{id}")).toStartWith(
      "write a parameter as :name (/orders/:id)",
    );
    // A trailing slash is no empty segment: the router ignores it.
    expect(pathPatternFault("/links/")).toBeUndefined();
    expect(pathPatternFault("/a/:id/b/:other")).toBeUndefined();
  });
});

describe("patternsOverlap", () => {
  test("whether some path matches both patterns", () => {
    for (const [a, b, overlap] of [
      ["/a", "/a/", true],
      ["/a", "/b", false],
      ["/chekout", "/checkout", false],
      ["/a/:x/b", "/a/c/:y", true], // /a/c/b
      ["/:x/:y", "/a", false],
      ["/checkout/:id", "/checkout", false],
      ["/v1/api-keys*", "/v1/api-keys/:id/rotate", true],
      ["/v1/api-keys*", "/v1/api-key", false],
      ["/files/abc*", "/files/:name", true],
      ["/a/*", "/a", true], // /a/
      ["/a/b/*", "/a", false],
      ["/*", "/", true],
      ["/ab*", "/a*", true],
      ["/a*", "/b*", false],
    ] as const) {
      expect([a, b, patternsOverlap(a, b)]).toEqual([a, b, overlap]);
      expect([b, a, patternsOverlap(b, a)]).toEqual([b, a, overlap]);
    }
  });

  test("agrees with the patterns' own matching on every pair of a set of patterns, over every path of a set", () => {
    const depthOf = (prefix: string) => prefix.split("/").length - 1;
    const patternsFrom = (prefix: string): string[] => {
      const here = prefix ? [prefix, `${prefix}*`, `${prefix}/*`] : [];
      if (depthOf(prefix) === 3) return here;
      return [...here, ...["a", "b", "ab", ":p"].flatMap((s) => patternsFrom(`${prefix}/${s}`))];
    };
    const pathsFrom = (prefix: string): string[] => {
      const here = [prefix || "/", `${prefix}/`];
      if (depthOf(prefix) === 4) return here;
      return [...here, ...["a", "b", "ab", "abb", "x"].flatMap((s) => pathsFrom(`${prefix}/${s}`))];
    };
    const patterns = patternsFrom("");
    const paths = pathsFrom("");
    const matching = new Map(
      patterns.map((p) => {
        const regexp = compilePathPattern(p);
        return [p, new Set(paths.filter((path) => regexp.test(path)))];
      }),
    );
    const disagreements: string[] = [];
    for (const a of patterns)
      for (const b of patterns) {
        const pathsOfB = matching.get(b) as Set<string>;
        const shared = [...(matching.get(a) as Set<string>)].some((path) => pathsOfB.has(path));
        if (shared !== patternsOverlap(a, b)) disagreements.push(`${a} ${b}: paths ${shared}`);
      }
    expect(disagreements).toEqual([]);
  });
});
