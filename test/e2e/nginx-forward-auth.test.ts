/**
 * Forward-auth behind nginx, black-box: a real nginx running docs/forward-auth/nginx-server.conf
 * (`auth_request`, `X-Original-Method` / `X-Original-URI`) in front of a stub upstream, asking
 * the real Keygate server, started as the README starts it, about every request. The tests are
 * the contract every proxy is held to (test/support/forward-auth.ts): allowed requests reach
 * the upstream with the identity and without the credential, the client gets Keygate's ids and
 * limits, and refused, rate-limited and disguised requests get Keygate's status and envelope
 * and never reach the upstream — which nginx's `auth_request` alone would turn into 500s.
 */
import { forwardAuthContract } from "../support/forward-auth.ts";
import { startNginx } from "../support/nginx.ts";

forwardAuthContract({
  name: "nginx",
  start: startNginx,
  uriHeader: "X-Original-URI",
  otherPair: { method: "x-forwarded-method", uri: "x-forwarded-uri" },
  // $request_uri keeps a client's fragment, which the router would read as part of the last
  // segment while an upstream parsing the URL drops it.
  disguisedAsSent: ["/links/lnk_1#x"],
});
