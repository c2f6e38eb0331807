/**
 * Credentials a client put where text of its request is written back or logged — a key or a
 * management token pasted into a path where an id belongs (`/v1/api-keys/sk_live_…`), or as a
 * field's name — in a form that shows what it was and not what it is: a key as
 * `sk_live_••••wxyz` (keys/key-format.ts), a token as its fixed header and `.••••`. Error
 * messages, `param`, the access log's path, internal-error reports and the CLI's messages all
 * pass through here.
 */
import { maskKeysIn } from "../keys/key-format.ts";
import { TOKEN_HEADER } from "./jwt.ts";

/** A management token: its header, then its claims and signature (either may be cut short). */
const TOKEN_SHAPED = new RegExp(`${TOKEN_HEADER}\\.[A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]*)?`, "g");

/** `text` with every key-shaped run and every management token masked. */
export function maskCredentialsIn(text: string): string {
  const keysMasked = maskKeysIn(text);
  if (!keysMasked.includes(TOKEN_HEADER)) return keysMasked;
  return keysMasked.replace(TOKEN_SHAPED, `${TOKEN_HEADER}.••••`);
}
