/**
 * Why a presented key was refused as `api_key_malformed`, in words a developer can act on: a
 * key cut short, a character mistyped, a public key sent where the secret goes. Worked out
 * only once a key has been refused, so an accepted request never pays for it. A reason names
 * the key by its part ("the secret key") and quotes nothing of it but the prefix and the
 * environment tag, which every display form shows anyway.
 */
import { KEY_BODY_LENGTH, parseKey } from "../keys/key-format.ts";
import type { KeyVerifierSettings } from "./verify-key.ts";

type Prefixes = Pick<KeyVerifierSettings, "secretPrefix" | "publicPrefix">;

/** Why `raw`, presented as the kind of key `part` names, is not one; undefined if it is. */
function whyNotAKey(raw: string, part: "secret key" | "public key", prefixes: Prefixes) {
  const prefix = part === "secret key" ? prefixes.secretPrefix : prefixes.publicPrefix;
  const parsed = parseKey(raw, prefix);
  if (parsed.ok) return undefined;
  const [given = "", environment = ""] = raw.split("_");
  const body = raw.slice(raw.lastIndexOf("_") + 1);
  switch (parsed.reason) {
    case "shape":
      return `the ${part} is not ${prefix}_live_… or ${prefix}_test_… followed by ${KEY_BODY_LENGTH} letters and digits`;
    case "prefix":
      if (part === "secret key" && given === prefixes.publicPrefix)
        return `a public key (${given}_…) was sent where the secret key goes; a key pair is sent as Basic public_key:secret_key`;
      return `the ${part} starts with ${given}_, but this deployment's start with ${prefix}_`;
    case "environment":
      return `the ${part}'s environment tag is neither live nor test`;
    case "length":
      return `the ${part} has ${body.length} characters after ${prefix}_${environment}_, not ${KEY_BODY_LENGTH}: it was cut short or runs into other text`;
    case "checksum":
      return `the ${part}'s checksum does not match: a character was mistyped or changed`;
  }
}

/** Why a secret key sent alone (Bearer, or the API-key header) is malformed. */
export function secretKeyMalformed(secret: string, prefixes: Prefixes): string | undefined {
  return whyNotAKey(secret, "secret key", prefixes);
}

/** Why a key pair sent with Basic is malformed: either half, or the two halves together. */
export function keyPairMalformed(
  publicKey: string,
  secret: string,
  prefixes: Prefixes,
): string | undefined {
  const half =
    whyNotAKey(publicKey, "public key", prefixes) ?? whyNotAKey(secret, "secret key", prefixes);
  if (half) return half;
  const [publicEnvironment, secretEnvironment] = [publicKey, secret].map((k) => k.split("_")[1]);
  if (publicEnvironment !== secretEnvironment)
    return `the public key is ${publicEnvironment} and the secret key ${secretEnvironment}; the two halves of a pair share one environment`;
  return undefined;
}
