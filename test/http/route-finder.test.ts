/** Which route serves a request: the finder forward-auth uses against Elysia's own router. */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { pathPatternFault } from "../../src/http/path-pattern.ts";
import { type RouteEntry, routeFinder, routeSetFault } from "../../src/http/route-finder.ts";

/** A seeded generator (mulberry32): the same route sets on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, items: readonly T[]) =>
  items[Math.floor(next() * items.length)] as T;

/** A pattern of one to three segments: literals, parameters (named by place), a final `*`. */
function pattern(next: () => number): string {
  const segments: string[] = [];
  const length = 1 + Math.floor(next() * 3);
  for (let i = 0; i < length; i++) segments.push(pick(next, ["a", "b", `:p${i}`, `:p${i}`]));
  const end = pick(next, ["", "", "/*", "*"]);
  return `/${segments.join("/")}${end}`;
}

const PATHS = [
  "/a",
  "/b",
  "/c",
  "/a/",
  "/a/a",
  "/a/b",
  "/b/a",
  "/a/c",
  "/c/c",
  "/a/b/",
  "/a/a/a",
  "/a/b/c",
  "/b/b/b",
  "/c/a/b",
  "/a/b/c/d",
  "/ab",
  "/a/bc",
  "/",
  "/a//b",
];

const listed = (routes: readonly RouteEntry[]) =>
  routes.map((r) => `${r.method} ${r.path}`).join(", ");

describe("routeFinder", () => {
  test("picks the route Elysia's router serves, over 300 seeded route sets", async () => {
    const next = random(20261124);
    const disagreements: string[] = [];
    let sets = 0;
    let deadRoutes = 0;
    while (sets < 300) {
      const routes: RouteEntry[] = [];
      const count = 2 + Math.floor(next() * 4);
      for (let i = 0; i < count; i++)
        routes.push({ method: pick(next, ["GET", "GET", "POST", "HEAD"]), path: pattern(next) });
      if (routes.some((r) => pathPatternFault(r.path))) continue;
      const fault = routeSetFault(routes);
      if (fault && !fault.message.includes("would never serve")) continue;
      const app = new Elysia();
      for (const [index, route] of routes.entries())
        app.route(route.method, route.path, ({ set }) => {
          set.headers["x-route"] = String(index);
          return "ok";
        });
      if (fault) {
        // A HEAD route refused as never serving must indeed serve none of the paths.
        deadRoutes++;
        for (const path of PATHS) {
          const reply = await app.handle(
            new Request(`http://localhost${path}`, { method: "HEAD" }),
          );
          if (reply.headers.get("x-route") === String(fault.index))
            disagreements.push(`${listed(routes)} | HEAD ${path}: served by the refused route`);
        }
        continue;
      }
      sets++;
      const find = routeFinder(routes);
      for (const method of ["GET", "HEAD", "POST"])
        for (const path of PATHS) {
          const reply = await app.handle(new Request(`http://localhost${path}`, { method }));
          const served = reply.headers.get("x-route");
          const found = find(method, path);
          const chosen = found === undefined ? null : String(routes.indexOf(found));
          if (served !== chosen)
            disagreements.push(
              `${listed(routes)} | ${method} ${path}: router ${served}, finder ${chosen}`,
            );
        }
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(deadRoutes).toBeGreaterThan(10);
  });

  test("a literal route before a parameter, a parameter before a wildcard, whatever the order listed", () => {
    const routes = [
      { method: "GET", path: "/a/:id", name: "param" },
      { method: "GET", path: "/a/b", name: "literal" },
      { method: "GET", path: "/a/*", name: "wildcard" },
      { method: "GET", path: "/x/:id/c", name: "param then literal" },
      { method: "GET", path: "/x/b/*", name: "literal then wildcard" },
    ];
    const find = routeFinder(routes);
    expect(find("GET", "/a/b")?.name).toBe("literal");
    expect(find("GET", "/a/b/")?.name).toBe("literal");
    expect(find("GET", "/a/c")?.name).toBe("param");
    expect(find("HEAD", "/a/c")?.name).toBe("param");
    expect(find("GET", "/a/c/d")?.name).toBe("wildcard");
    // Bun's own router would take /x/:id/c here; Elysia's, and so Keygate's, the literal b.
    expect(find("GET", "/x/b/c")?.name).toBe("literal then wildcard");
    expect(find("POST", "/a/b")).toBeUndefined();
  });
});

describe("routeSetFault", () => {
  test("a method and path twice, or two names for one parameter's place, name the later route", () => {
    expect(
      routeSetFault([
        { method: "GET", path: "/a" },
        { method: "POST", path: "/a" },
        { method: "GET", path: "/a" },
      ]),
    ).toEqual({ index: 2, message: "GET /a is also route 0: list it once" });
    expect(
      routeSetFault([
        { method: "GET", path: "/orders/:id" },
        { method: "POST", path: "/orders/:order" },
        { method: "GET", path: "/orders/:order/items" },
      ]),
    ).toEqual({
      index: 2,
      message:
        "/orders/:order/items: :order stands where another GET route has :id; the router tells parameters apart by place, not name: name it :id",
    });
    expect(
      routeSetFault([
        { method: "GET", path: "/orders" },
        { method: "GET", path: "/orders/" },
      ]),
    ).toEqual({ index: 1, message: "GET /orders/ is also route 0: list it once" });
    expect(routeSetFault([{ method: "GET", path: "/orders/:id/*" }])).toBeUndefined();
  });

  test("a HEAD pattern that GET routes answer first wherever it matches is refused; one that serves some path is not", async () => {
    const shadowed = [
      { method: "GET", path: "/orders/:id" },
      { method: "HEAD", path: "/orders/:order/" },
    ];
    expect(routeSetFault(shadowed)).toEqual({
      index: 1,
      message:
        "HEAD /orders/:order/ would never serve a request: the router answers a HEAD with a GET route that matches first (GET /orders/:id, route 0), and with that route's rules; drop this one or narrow the GET route",
    });
    // What the refusal spares the operator: Elysia serves every HEAD there with the GET route.
    const app = new Elysia()
      .get("/orders/:id", () => "get")
      .head("/orders/:order/", ({ set }) => {
        set.headers["x-route"] = "head";
        return "";
      });
    const reply = await app.handle(
      new Request("http://localhost/orders/ord_1", { method: "HEAD" }),
    );
    expect(reply.headers.get("x-route")).toBeNull();
    // A wildcard GET covers all a parameter does.
    expect(
      routeSetFault([
        { method: "GET", path: "/files/*" },
        { method: "HEAD", path: "/files/:name" },
      ])?.message,
    ).toContain("(GET /files/*, route 0)");
    // A HEAD route without parameters comes first; a HEAD pattern serves what no GET covers.
    expect(
      routeSetFault([
        { method: "GET", path: "/orders" },
        { method: "HEAD", path: "/orders" },
        { method: "GET", path: "/files/:name" },
        { method: "HEAD", path: "/files/*" },
        { method: "GET", path: "/a/b" },
        { method: "HEAD", path: "/a/:id" },
      ]),
    ).toBeUndefined();
  });
});
