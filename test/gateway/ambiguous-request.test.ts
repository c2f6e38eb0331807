/** Requests an upstream may read differently from Keygate: what each refusal says, and what passes. */
import { describe, expect, test } from "bun:test";
import {
  ambiguousPathFault,
  dashed,
  overrideRefusal,
  spoofedIdentityHeaderOf,
} from "../../src/gateway/ambiguous-request.ts";

describe("ambiguousPathFault", () => {
  test("each reading an upstream may make differently is named", () => {
    expect(
      [
        "/files//private/raw",
        "/files\\private",
        "/files/../private/raw",
        "/files/./raw",
        "/files/x/.",
        "/files/private;x=1/raw",
        "/files/x/..;/private/raw",
        "/files/%70rivate/raw",
        "/files/privat%45/raw",
        "/files/x/%2e%2e/private",
        "/files/lnk%5F1",
        "/files/%7e",
        "/files/..%2fprivate",
        "/files/..%5Cprivate",
        "/files/private%3bx/raw",
        "/files/%2570rivate/raw",
        "/files/x%00.pdf",
        "/files/x%7F",
        "/admin/secrets#x",
        "/files/%EF%BD%90rivate/raw",
        "/files/\uff50rivate/raw",
        "/files/%C0%AF",
      ].map((path) => [path, ambiguousPathFault(path)]),
    ).toEqual([
      ["/files//private/raw", "has an empty segment (//)"],
      ["/files\\private", "has a backslash"],
      ["/files/../private/raw", "has a dot segment (. or ..)"],
      ["/files/./raw", "has a dot segment (. or ..)"],
      ["/files/x/.", "has a dot segment (. or ..)"],
      ["/files/private;x=1/raw", "has a path parameter (;)"],
      ["/files/x/..;/private/raw", "has a path parameter (;)"],
      ["/files/%70rivate/raw", 'percent-encodes "p" (%70), which needs no encoding'],
      ["/files/privat%45/raw", 'percent-encodes "E" (%45), which needs no encoding'],
      ["/files/x/%2e%2e/private", 'percent-encodes "." (%2e), which needs no encoding'],
      ["/files/lnk%5F1", 'percent-encodes "_" (%5F), which needs no encoding'],
      ["/files/%7e", 'percent-encodes "~" (%7e), which needs no encoding'],
      ["/files/..%2fprivate", "percent-encodes a separator (%2f)"],
      ["/files/..%5Cprivate", "percent-encodes a separator (%5C)"],
      ["/files/private%3bx/raw", "percent-encodes a ; (%3b)"],
      [
        "/files/%2570rivate/raw",
        "percent-encodes a % (%25), so a second decoding reads another path",
      ],
      ["/files/x%00.pdf", "percent-encodes a control character (%00)"],
      ["/files/x%7F", "percent-encodes a control character (%7F)"],
      ["/admin/secrets#x", "has a fragment (#), which HTTP clients never send"],
      [
        "/files/%EF%BD%90rivate/raw",
        "holds a character that Unicode compatibility normalisation turns into another (fullwidth ｐ into p)",
      ],
      [
        "/files/\uff50rivate/raw",
        "holds a character that Unicode compatibility normalisation turns into another (fullwidth ｐ into p)",
      ],
      [
        "/files/%C0%AF",
        "percent-encodes bytes that are not UTF-8 (an old decoder reads %C0%AF as /)",
      ],
    ]);
  });

  test("what every upstream reads alike passes: reserved and non-ASCII characters encoded, dots inside a name, one trailing slash", () => {
    for (const path of [
      "/",
      "/files/report/raw",
      "/files/",
      "/files/a%20b",
      "/files/%E6%97%A5",
      "/files/\u65e5\u672c",
      "/files/caf%C3%A9",
      "/files/a%40b%3Ac",
      "/files/a.b",
      "/files/..x",
      "/files/x..",
      "/files/50%",
      "/files/%zz",
    ])
      expect([path, ambiguousPathFault(path)]).toEqual([path, undefined]);
  });
});

describe("overrideRefusal", () => {
  const param = (headers: Record<string, string>, query = "") =>
    overrideRefusal(new Headers(headers), query, "POST")?.param;

  test("the headers and the query parameter by which frameworks let a request claim another method or path", () => {
    for (const name of ["X-HTTP-Method-Override", "x-http-method", "X-Method-Override"])
      expect(param({ [name]: "DELETE" })).toBe(name.toLowerCase());
    expect(param({}, "?a=1&_method=DELETE")).toBe("_method");
    for (const name of ["X-Original-URL", "x-rewrite-url"])
      expect(param({ [name]: "/admin" })).toBe(name.toLowerCase());
    expect(overrideRefusal(new Headers({ "x-original-url": "/a" }), "", "GET")?.message).toBe(
      "x-original-url: Keygate authorizes a request by its own path; an upstream that honours x-original-url would serve another, so it is refused.",
    );
    expect(param({ "x-http-method": "PUT" })).toBe("x-http-method");
  });

  test("look-alikes pass: forward-auth's own X-Original-URI and X-Original-Method, other parameters", () => {
    expect(
      param(
        { "x-method": "DELETE", "x-original-method": "GET", "x-original-uri": "/a" },
        "?method=DELETE&_methods=x&x=_method",
      ),
    ).toBeUndefined();
  });
});

describe("header spellings with _ for -", () => {
  test("read as CGI variables, X_Keygate_Entity_Id is X-Keygate-Entity-Id: forward-auth refuses it", () => {
    expect(dashed("x_keygate_entity_id")).toBe("x-keygate-entity-id");
    expect(dashed("x-custom")).toBe("x-custom");
    expect(spoofedIdentityHeaderOf(new Headers({ X_Keygate_Entity_Id: "ent_1" }))).toBe(
      "x_keygate_entity_id",
    );
    expect(spoofedIdentityHeaderOf(new Headers({ "x-keygate_scopes": "*" }))).toBe(
      "x-keygate_scopes",
    );
    // The exact names are the proxy's to overwrite; other underscores are none of Keygate's.
    expect(
      spoofedIdentityHeaderOf(new Headers({ "x-keygate-key-id": "key_1", x_custom: "1" })),
    ).toBeUndefined();
  });
});
