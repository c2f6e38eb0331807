/**
 * A self-signed certificate for `127.0.0.1` and `localhost`, made with `node:crypto` alone —
 * DER written by hand (RFC 5280's few fields), signed with a fresh P-256 key — so that the
 * HTTPS tests need no `openssl` on the machine. A test serves with it and trusts it as the
 * only CA of its client.
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";

/** A certificate and its private key, PEM. */
export interface TestCertificate {
  cert: string;
  key: string;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((part) => Buffer.from(part)));
}

/** One DER element: tag, definite length, content. */
function der(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat([Uint8Array.of(tag, ...length), content]);
}

const sequence = (...parts: Uint8Array[]) => der(0x30, concat(parts));
const set = (...parts: Uint8Array[]) => der(0x31, concat(parts));
const explicit = (n: number, content: Uint8Array) => der(0xa0 + n, content);
const text = (s: string) => new TextEncoder().encode(s);

function objectId(dotted: string): Uint8Array {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Uint8Array.from(bytes));
}

/** UTCTime, `YYMMDDHHMMSSZ`. */
function utcTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2026-11-23T22:10:00.000Z
  const digits = iso.slice(2, 19).replace(/[-T:]/g, "");
  return der(0x17, text(`${digits}Z`));
}

const ECDSA_WITH_SHA256 = sequence(objectId("1.2.840.10045.4.3.2"));
const NAME = sequence(set(sequence(objectId("2.5.4.3"), der(0x0c, text("localhost")))));

/** A fresh self-signed certificate valid for a day, for 127.0.0.1 and localhost. */
export function selfSignedCertificate(now = new Date()): TestCertificate {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(16);
  // A DER INTEGER is positive (top bit clear) and minimal (no leading zero byte before a byte
  // with its top bit clear): strict parsers such as BoringSSL's refuse the certificate otherwise.
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  const altNames = sequence(der(0x87, Uint8Array.of(127, 0, 0, 1)), der(0x82, text("localhost")));
  const extensions = explicit(
    3,
    sequence(
      sequence(objectId("2.5.29.19"), der(0x04, sequence(der(0x01, Uint8Array.of(0xff))))),
      sequence(objectId("2.5.29.17"), der(0x04, altNames)),
    ),
  );
  const tbs = sequence(
    explicit(0, der(0x02, Uint8Array.of(2))),
    der(0x02, serial),
    ECDSA_WITH_SHA256,
    NAME,
    sequence(
      utcTime(new Date(now.getTime() - 60_000)),
      utcTime(new Date(now.getTime() + 86_400_000)),
    ),
    NAME,
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = sequence(
    tbs,
    ECDSA_WITH_SHA256,
    der(0x03, concat([Uint8Array.of(0), signature])),
  );
  const base64 = Buffer.from(certificate).toString("base64").replace(/.{64}/g, "$&\n");
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
