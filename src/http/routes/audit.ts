/**
 * `GET /v1/audit/checkpoint` (`events:read`): the latest signed checkpoint, with the exact
 * message its signature covers and the signer's public key as PEM, so an outsider can check
 * it with `openssl` (docs/audit.md). 404 before the first checkpoint.
 */
import { Elysia } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import {
  checkpointMessage,
  checkpointPublicKey,
  latestCheckpoint,
} from "../../audit/checkpoints.ts";
import { KeygateError } from "../../errors/keygate-error.ts";
import { keygateGuard } from "../guard.ts";
import { documented } from "../openapi.ts";

/** The /v1/audit controller. */
export function auditRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/audit", normalize: false }).use(keygateGuard(kg)).get(
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
  );
}
