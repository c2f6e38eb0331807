/**
 * The entity routes against a reference model (SPEC §1, §6): seeded random keys at every
 * height of a small tree — the platform's own two among them — read entities, create children
 * and deactivate and reactivate entities at random. The model says, in the order the routes
 * check it, what each request gets: 401 `entity_inactive` for a key whose entity (or an
 * ancestor) is deactivated; 403 without the scope; 404 for an entity that does not exist;
 * 403 `entity_forbidden` outside the caller's subtree; 400 for a kind that cannot sit under
 * its parent, a parent that is inactive, or the platform deactivated; 403 `entity_forbidden`
 * for reactivating what was deactivated from above the caller; else 200 with the entity's
 * effective `active`. A deactivation from higher up takes the lock over; one from lower down,
 * of an entity already inactive, changes nothing.
 */
import { describe, expect, test } from "bun:test";
import type { EntityKind } from "../../src/entities/entity.ts";
import {
  buildTree,
  holds,
  type ModelKey,
  PARENT_KINDS,
  randomKeys,
  type TreeEntity,
} from "../support/grant-rules.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { seededRandom } from "../support/random.ts";

const openTestApp = testAppPerTest();

const ENTITY_SCOPES = ["*", "entities:*", "entities:read", "entities:write", "links:read"];

describe("the entity routes against a reference model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 200 random reads, creations, deactivations and reactivations; each answer as the model says`, async () => {
      const rng = seededRandom(seed);
      const t = openTestApp();
      const tree = buildTree(t);
      const root = tree[0] as TreeEntity;
      /** Who holds each inactive entity's lock: an entity id, or null for the operator. */
      const lockedBy = new Map<string, string | null>(
        tree.filter((e) => !e.active).map((e) => [e.id, null]),
      );
      const platformKey = (secret: string, environment: "live" | "test"): ModelKey => ({
        id: "platform",
        secret,
        entity: root,
        environment,
        scopes: ["*"],
        rate: null,
        expiresAtMs: null,
        revoked: false,
      });
      const callers = [
        platformKey(t.live, "live"),
        platformKey(t.test, "test"),
        ...randomKeys(t, rng, tree, 14, {
          pool: ENTITY_SCOPES,
          writers: ["entities:write", "entities:*"],
        }),
      ];
      const byId = (id: string) => tree.find((e) => e.id === id);
      const effectivelyActive = (e: TreeEntity) =>
        e.path.every((id) => (byId(id) as TreeEntity).active);
      const depth = (by: string | null, path: readonly string[]) =>
        by === null ? 0 : path.indexOf(by);
      const seen: Record<string, number> = {};

      for (let step = 1; step <= 200; step++) {
        t.clock.advance(61); // past every limit's window: nothing here is refused for its rate
        // The platform's keys a quarter of the time: they can always act, and undo any lock.
        const caller = rng.pick(rng.chance(0.25) ? callers.slice(0, 2) : callers);
        const op = rng.pick([
          "read",
          "create",
          "create",
          "deactivate",
          "reactivate",
          "reactivate",
        ] as const);
        // Mostly an entity in the caller's subtree; now and then any, or one that does not exist.
        const subtree = tree.filter((e) => e.path.includes(caller.entity.id));
        const target = rng.chance(0.05) ? undefined : rng.pick(rng.chance(0.7) ? subtree : tree);
        const targetId = target?.id ?? "ent_doesnotexist";
        const parentGiven = op === "create" && rng.chance(0.8);
        const subject = op === "create" && !parentGiven ? caller.entity : target;
        // Mostly a kind that may sit under the parent; now and then any, to be refused.
        const fitting = (["partner", "merchant", "branch"] as const).filter(
          (k) => subject && PARENT_KINDS[k].includes(subject.kind),
        );
        const kind = rng.pick<EntityKind>(
          fitting.length > 0 && rng.chance(0.7) ? fitting : ["partner", "merchant", "branch"],
        );
        const subjectId = op === "create" && !parentGiven ? caller.entity.id : targetId;

        let want: [number, string] = [200, "ok"];
        if (!effectivelyActive(caller.entity)) want = [401, "entity_inactive"];
        else if (!holds(caller.scopes, op === "read" ? "entities:read" : "entities:write"))
          want = [403, "insufficient_scope"];
        else if (!subject) want = [404, "resource_missing"];
        else if (!subject.path.includes(caller.entity.id)) want = [403, "entity_forbidden"];
        else if (op === "create" && !PARENT_KINDS[kind].includes(subject.kind))
          want = [400, "invalid_request"];
        else if (op === "create" && !effectivelyActive(subject)) want = [400, "invalid_request"];
        else if (op === "deactivate" && subject.kind === "platform")
          want = [400, "invalid_request"];
        else if (
          op === "reactivate" &&
          !subject.active &&
          depth(caller.entity.id, subject.path) >
            depth(lockedBy.get(subject.id) ?? null, subject.path)
        )
          want = [403, "entity_forbidden"];

        const key = caller.secret;
        const reply =
          op === "read"
            ? await t.call("GET", `/v1/entities/${subjectId}`, { key })
            : op === "create"
              ? await t.call("POST", "/v1/entities", {
                  key,
                  body: {
                    kind,
                    name: `${kind} ${step}`,
                    ...(parentGiven ? { parent_id: subjectId } : {}),
                  },
                })
              : await t.call("POST", `/v1/entities/${subjectId}/${op}`, { key });
        const got: [number, string] = [reply.status, reply.status === 200 ? "ok" : codeOf(reply)];
        const label = `seed ${seed} step ${step}: ${op} ${kind} on ${subjectId} by a key at ${caller.entity.kind} ${caller.entity.id}`;
        expect({ label, got }).toEqual({ label, got: want });
        seen[`${op} ${got.join(" ")}`] = (seen[`${op} ${got.join(" ")}`] ?? 0) + 1;
        if (reply.status !== 200 || !subject) continue;

        // What a success changed, in the model; the answer shows the effective state.
        let shown = subject;
        if (op === "create") {
          shown = {
            id: reply.body.id,
            kind,
            path: [...subject.path, reply.body.id],
            active: true,
          };
          tree.push(shown);
          expect(reply.body.path).toEqual(shown.path);
        } else if (op === "deactivate") {
          const lock = lockedBy.get(subject.id) ?? null;
          const below = depth(caller.entity.id, subject.path) >= depth(lock, subject.path);
          if (subject.active || !below) {
            subject.active = false;
            lockedBy.set(subject.id, caller.entity.id);
          }
        } else if (op === "reactivate") {
          subject.active = true;
          lockedBy.delete(subject.id);
        }
        expect({ label, active: reply.body.active }).toEqual({
          label,
          active: effectivelyActive(shown),
        });
      }
      // Each kind of answer was reached in this run.
      const outcomes = Object.keys(seen).map((k) => k.split(" ").slice(1).join(" "));
      for (const outcome of ["200 ok", "403 entity_forbidden", "400 invalid_request"])
        expect(outcomes).toContain(outcome);
    });
  }
});
