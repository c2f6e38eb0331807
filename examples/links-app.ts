/**
 * An Elysia app of your own with Keygate mounted as plugins — no gateway. Its routes declare
 * the scopes they need (a route that declares neither `scopes` nor `public: true` would stop
 * the app's start); the handlers read the caller's identity (entity, environment) and never
 * see a credential. POST retries with an Idempotency-Key run once.
 *
 *   KEYGATE_DB=./data/keygate.sqlite bun examples/links-app.ts     # serves on :4000
 *
 * Keys come from the same database: `bun run keygate init` / `keys create …`, or a Keygate
 * server running beside it. It imports Keygate by its package name, as an app that added it
 * as a dependency does (here the name resolves to this repository itself).
 */
import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import { type Keygate, keygate, loadConfig, openKeygate } from "keygate";

/** One payment link, as this toy API stores it. */
interface Link {
  id: string;
  object: "payment_link";
  amount: number;
  currency: string;
  entity_id: string;
  livemode: boolean;
}

/** The links API: list and create, each link kept with its entity and environment. */
export function linksApp(kg: Keygate) {
  const links: Link[] = [];
  // normalize: false, so that a body's unknown field is refused rather than silently dropped.
  return new Elysia({ normalize: false })
    .use(keygate(kg))
    .get(
      "/links",
      ({ identity }) => ({
        object: "list",
        data: links.filter(
          (l) =>
            l.entity_id === identity.entity.id && l.livemode === (identity.environment === "live"),
        ),
      }),
      { scopes: ["links:read"] },
    )
    .post(
      "/links",
      ({ identity, body }) => {
        const link: Link = {
          id: `plink_${links.length + 1}`,
          object: "payment_link",
          amount: body.amount,
          currency: body.currency,
          entity_id: identity.entity.id,
          livemode: identity.environment === "live",
        };
        links.push(link);
        return link;
      },
      {
        scopes: ["links:write"],
        parse: "json",
        // TypeBox's own Integer: Elysia's t.Integer also takes the string "100" for 100.
        // With normalize off, a field the schema does not name is an error the client sees.
        body: t.Object(
          {
            amount: Type.Integer({ minimum: 1 }),
            currency: t.String({ minLength: 3, maxLength: 3 }),
          },
          { additionalProperties: false },
        ),
      },
    );
}

if (import.meta.main) {
  const kg = openKeygate(loadConfig());
  linksApp(kg).listen(Number(process.env.PORT ?? 4000));
  console.log(`links example on http://localhost:${process.env.PORT ?? 4000}`);
}
