/**
 * Requests an upstream may read differently from Keygate, which are refused rather than
 * guessed at, in the gateway and in forward-auth alike: Keygate judges a request by the route
 * its method and path select, and an upstream that reads another method or path into it runs
 * a route Keygate never judged.
 *
 * **The method.** Many frameworks let a `POST` say it is another method: the
 * `X-HTTP-Method-Override` header (and its variants) in Symfony, Laravel, ASP.NET Core's
 * middleware, Express's `method-override`; the `_method` query parameter in Laravel and
 * Symfony. A key allowed to `POST /orders/:id` could `DELETE` it. Both forms are refused; a
 * `_method` field in a form body, which Keygate streams unread, is the upstream's to ignore
 * (docs/gateway.md). So, for the path, are `X-Original-URL` and `X-Rewrite-URL`, which IIS
 * and older Symfony and Zend releases take for the request's own path.
 *
 * **The path.** Keygate picks a route on the path as sent:
 * Elysia's router compares each segment's raw text. Upstream servers read paths in their own
 * ways, and where they read one as another path, a request Keygate judged by a weaker route
 * reaches a stronger one — with `GET /files/:name/raw` (`files:read`) beside `GET
 * /files/private/*` (`private:read`), each of these matched the first and could be served as
 * `/files/private/raw`:
 *
 * - `/files/%70rivate/raw`: an upstream that decodes the path before routing (Go's `net/http`,
 *   Django, Flask, Spring) reads `private` — so a character RFC 3986 §2.3 calls unreserved
 *   (letters, digits, `-._~`), which no client needs to encode, is refused encoded;
 * - `/files//private/raw`: nginx (`merge_slashes`) and others merge the empty segment;
 * - `/files/private;x=1/raw`, `/files/x/..;/private/raw`: Java servlet containers drop a path
 *   parameter (`;…`) before routing;
 * - an encoded `/`, `\`, `;` or `%` (`..%2f`, `%253B`), decoded once or twice, and a backslash,
 *   which some servers take for a slash; dot segments (`.`, `..`), which a URL parser resolves
 *   (the gateway's server already has, before routing; a forward-auth URI arrives as sent);
 *   and encoded control characters (`%00`, at which some servers cut the path);
 * - `/admin/secrets#x`: a fragment, which no client sends, matched `/:a/:b` here while an
 *   upstream that parses the URL drops it and serves `/admin/secrets`;
 * - `/files/%EF%BD%90rivate/raw` (a fullwidth p), which Unicode compatibility normalisation
 *   (IIS's "best fit") reads as `private`, and percent-encoded bytes that are not UTF-8
 *   (`%C0%AF`, an overlong `/` to an old decoder).
 *
 * What no check here can see is an upstream that routes without regard to case (ASP.NET's
 * default): `/FILES/private/raw` matches no literal `files` here. Such an upstream must be
 * given routes whose literals Keygate can match exactly (docs/gateway.md).
 *
 * **The headers.** PHP, Django and Rack read a header spelled with `_` for `-` as the same
 * one: {@link dashed} is how the gateway drops `X_Keygate_*` and `X_Api_Key` with the real
 * ones, and entity selection refuses a selector header sent both ways.
 */

import { invalidRequest, type KeygateError } from "../errors/keygate-error.ts";

const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;
const PERCENT_ENCODED = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9._~-]$/;
/** A character outside ASCII, as sent or percent-encoded (a byte from 0x80). */
const NON_ASCII = /[\u0080-\uffff]/;
const ENCODED_NON_ASCII = /%[89A-Fa-f][0-9A-Fa-f]/;

/** Why an upstream may read an encoded character as something else; undefined if it cannot. */
function encodedFault(encoded: string, char: string): string | undefined {
  if (UNRESERVED.test(char))
    return `percent-encodes "${char}" (${encoded}), which needs no encoding`;
  if (char === "/" || char === "\\") return `percent-encodes a separator (${encoded})`;
  if (char === ";") return `percent-encodes a ; (${encoded})`;
  if (char === "%")
    return `percent-encodes a % (${encoded}), so a second decoding reads another path`;
  if (char < " " || char === "\u007f") return `percent-encodes a control character (${encoded})`;
  return undefined;
}

/**
 * What makes `path` (no query) one an upstream may route differently from Keygate, as words
 * for the error message ("has an empty segment (//)"); undefined if nothing does.
 */
export function ambiguousPathFault(path: string): string | undefined {
  if (path.includes("//")) return "has an empty segment (//)";
  if (path.includes("#")) return "has a fragment (#), which HTTP clients never send";
  if (path.includes("\\")) return "has a backslash";
  if (DOT_SEGMENT.test(path)) return "has a dot segment (. or ..)";
  if (path.includes(";")) return "has a path parameter (;)";
  if (NON_ASCII.test(path)) return nonAsciiFault(path);
  if (!path.includes("%")) return undefined;
  for (const [encoded, hex] of path.matchAll(PERCENT_ENCODED)) {
    const fault = encodedFault(encoded, String.fromCharCode(Number.parseInt(hex as string, 16)));
    if (fault) return fault;
  }
  return ENCODED_NON_ASCII.test(path) ? nonAsciiFault(path) : undefined;
}

/**
 * Why an upstream may read a path holding non-ASCII text as another: bytes that are not UTF-8
 * (`%C0%AF`, an overlong `/` that old decoders took for one), or a character that Unicode
 * compatibility normalisation (NFKC, IIS's "best fit" mapping) turns into another — `ｐ`, the
 * fullwidth p, into `p` — so that `/files/%EF%BD%90rivate/raw` matched `/files/:name/raw` here
 * and `/files/private/raw` there. Other non-ASCII text (`%E6%97%A5`) passes.
 */
function nonAsciiFault(path: string): string | undefined {
  let decoded: string;
  try {
    // A % that starts no escape stays itself, as the server's URL parser kept it.
    decoded = decodeURIComponent(path.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
  } catch {
    return "percent-encodes bytes that are not UTF-8 (an old decoder reads %C0%AF as /)";
  }
  if (decoded.normalize("NFKC") !== decoded)
    return "holds a character that Unicode compatibility normalisation turns into another (fullwidth ｐ into p)";
  return undefined;
}

/** The headers through which frameworks let a request claim another method. */
export const METHOD_OVERRIDE_HEADERS = [
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
];

/** The headers through which servers let a request claim another path (IIS, older Symfony, Zend). */
export const PATH_OVERRIDE_HEADERS = ["x-original-url", "x-rewrite-url"];

/**
 * The envelope error for a request that claims a method or path other than its own — by a
 * header, or by the `_method` parameter of its query (`search`: `?…` or "") — or undefined.
 * (`param`: the header's or parameter's name.)
 */
export function overrideRefusal(
  headers: Headers,
  search: string,
  method: string,
): KeygateError | undefined {
  for (const name of PATH_OVERRIDE_HEADERS)
    if (headers.has(name))
      return invalidRequest(
        `${name}: Keygate authorizes a request by its own path; an upstream that honours ${name} would serve another, so it is refused.`,
        name,
      );
  let name = METHOD_OVERRIDE_HEADERS.find((header) => headers.has(header));
  if (
    name === undefined &&
    search.includes("_method") &&
    new URLSearchParams(search).has("_method")
  )
    name = "_method";
  if (name === undefined) return undefined;
  return invalidRequest(
    `${name}: Keygate authorizes a request by its own method (${method}); an upstream that honours ${name} would run another, so it is refused. Send the method itself.`,
    name,
  );
}

/**
 * A header name as servers that map headers to CGI-style variables see it (PHP, Django, Rack:
 * `X_Keygate_Entity_Id` and `X-Keygate-Entity-Id` are both `HTTP_X_KEYGATE_ENTITY_ID`), so that
 * an underscore spelling of a credential or identity header is dropped like the header itself.
 */
export const dashed = (name: string) => (name.includes("_") ? name.replaceAll("_", "-") : name);

/**
 * A header the client sent that is an `X-Keygate-*` identity header spelled with `_`
 * (`X_Keygate_Entity_Id`), if any. The gateway drops such headers; behind forward-auth the
 * proxy sends them on — it overwrites the identity headers by their names only, and an
 * upstream that reads both spellings as one could take the forged value — so forward-auth
 * refuses the request.
 */
export function spoofedIdentityHeaderOf(headers: Headers): string | undefined {
  for (const name of headers.keys())
    if (name.includes("_") && dashed(name).startsWith("x-keygate-")) return name;
  return undefined;
}
