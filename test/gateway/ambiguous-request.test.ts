/** Requests an upstream may read differently from Keygate: what each refusal says, and what passes. */
import { describe, expect, test } from "bun:test";
import { ambiguousPathFault, methodOverrideOf } from "../../src/gateway/ambiguous-request.ts";

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
    ]);
  });

  test("what every upstream reads alike passes: reserved and non-ASCII characters encoded, dots inside a name, one trailing slash", () => {
    for (const path of [
      "/",
      "/files/report/raw",
      "/files/",
      "/files/a%20b",
      "/files/%E6%97%A5",
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

describe("methodOverrideOf", () => {
  test("the headers and the query parameter by which frameworks let a POST claim another method", () => {
    const none = new URLSearchParams();
    for (const name of ["X-HTTP-Method-Override", "x-http-method", "X-Method-Override"])
      expect(methodOverrideOf(new Headers({ [name]: "DELETE" }), none)).toBe(name.toLowerCase());
    expect(methodOverrideOf(new Headers(), new URLSearchParams("a=1&_method=DELETE"))).toBe(
      "_method",
    );
    expect(
      methodOverrideOf(
        new Headers({ "x-method": "DELETE", "x-original-method": "GET" }),
        new URLSearchParams("method=DELETE&_methods=x"),
      ),
    ).toBeUndefined();
  });
});
