/**
 * The audits over HTTP (`events:read`; docs/audit.md):
 *
 * - `GET /v1/audit/checkpoint`: the latest signed checkpoint, with the exact message its
 *   signature covers and the signer's public key as PEM, so an outsider can check it with
 *   `openssl`. 404 before the first checkpoint.
 * - `GET /v1/audit/verify` and `GET /v1/audit/replay`: `keygate audit verify` and `audit
 *   replay`, run by the server on a worker thread of their own — seconds a million events,
 *   which would otherwise hold every other request. They read the whole log, every entity's
 *   events in both environments, so they take a live key of the platform entity. Requests
 *   that come while one runs wait for its answer rather than starting another.
 */
import { Elysia } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { oneAtATime, runOnAuditThread } from "../../audit/audit-thread.ts";
import { existingCheckpointKey } from "../../audit/checkpoint-key.ts";
import {
  checkpointMessage,
  checkpointPublicKey,
  latestCheckpoint,
} from "../../audit/checkpoints.ts";
import { replayReportObject } from "../../audit/replay.ts";
import { type VerifyReport, verifyLog } from "../../audit/verify.ts";
import type { Identity } from "../../auth/identity.ts";
import { KeygateError } from "../../errors/keygate-error.ts";
import { keygateGuard } from "../guard.ts";
import { documented } from "../openapi.ts";

/** Refuses a caller that may not audit the whole log: all but live keys of the platform. */
function requireWholeLogReader(identity: Identity): void {
  if (identity.entity.path.length !== 1)
    throw new KeygateError(
      "entity_forbidden",
      "An audit of the whole log takes a key of the platform entity: the log holds every entity's events. GET /v1/events reads your subtree's.",
    );
  if (identity.environment !== "live")
    throw new KeygateError(
      "environment_forbidden",
      "An audit of the whole log takes a live key: the log holds the live environment's events, which a test key never reads.",
    );
}

/** A verification as the API answers it. */
function verificationObject(report: VerifyReport) {
  return {
    object: "log_verification" as const,
    intact: report.ok,
    events: report.events,
    head_hash: report.ok ? report.head : null,
    checkpoint:
      report.ok && report.checkpoint
        ? {
            size: report.checkpoint.size,
            head_hash: report.checkpoint.head_hash,
            created_at: report.checkpoint.created_at,
          }
        : null,
    position: report.ok ? null : report.position,
    problem: report.ok ? null : report.problem,
  };
}

/** The /v1/audit controller. */
export function auditRoutes(kg: Keygate) {
  const { dbPath } = kg.config;
  const verify = oneAtATime(async () => {
    // Without the key file here (it may be kept away from the server, which then signs
    // nothing), each checkpoint's signature is checked, but not its signer.
    const options = { trustedPublicKey: existingCheckpointKey(kg.config)?.publicKeyBase64 };
    // A database in memory (tests) cannot be opened by another thread.
    return dbPath === ":memory:"
      ? verifyLog(kg.db.sql, options)
      : runOnAuditThread({ kind: "verify", dbPath, options });
  });
  const replay = oneAtATime(async () => {
    if (dbPath === ":memory:")
      throw new KeygateError("invalid_request", "A replay needs a database file.");
    // The worker reads the server's clock (a test's fake one too) as this offset from its own.
    const clockOffsetMs = kg.now().getTime() - Date.now();
    return runOnAuditThread({ kind: "replay", dbPath, clockOffsetMs });
  });
  return new Elysia({ name: "keygate/routes/audit", normalize: false })
    .use(keygateGuard(kg))
    .get(
      "/v1/audit/checkpoint",
      () => {
        const checkpoint = latestCheckpoint(kg.db.sql);
        if (!checkpoint)
          throw new KeygateError("resource_missing", "No checkpoint has been signed yet.");
        const publicKey = checkpointPublicKey(checkpoint);
        return {
          object: "checkpoint",
          ...checkpoint,
          message: checkpointMessage(checkpoint),
          public_key_pem: publicKey.export({ type: "spki", format: "pem" }).toString(),
        };
      },
      {
        scopes: ["events:read"],
        detail: documented({
          summary: "Get the latest signed checkpoint of the log",
          id: "getLatestCheckpoint",
          tag: "Events",
          returns: "Checkpoint",
        }),
      },
    )
    .get(
      "/v1/audit/verify",
      async ({ identity }) => {
        requireWholeLogReader(identity);
        return verificationObject(await verify());
      },
      {
        scopes: ["events:read"],
        detail: documented({
          summary: "Verify the whole log: every hash, position, schema, stream and the checkpoint",
          id: "verifyLog",
          tag: "Events",
          returns: "LogVerification",
          description:
            "`keygate audit verify`, run by the server: always 200, `intact` says the verdict. A live key of the platform entity only.",
        }),
      },
    )
    .get(
      "/v1/audit/replay",
      async ({ identity }) => {
        requireWholeLogReader(identity);
        return replayReportObject(await replay());
      },
      {
        scopes: ["events:read"],
        detail: documented({
          summary: "Replay the log into fresh projections and compare them with the live ones",
          id: "replayLog",
          tag: "Events",
          returns: "LogReplay",
          description:
            "`keygate audit replay`, run by the server: always 200, `identical` says the verdict. A live key of the platform entity only.",
        }),
      },
    );
}
