/**
 * Lists of peer addresses in the config file (`gateway.trusted_proxies`, `metrics.allow`):
 * single IPv4 or IPv6 addresses and CIDR ranges, as nginx's `set_real_ip_from` and `allow`
 * take them. Matched as addresses, not as text: `::ffff:10.0.0.1` (an IPv4 client on a
 * dual-stack socket) is `10.0.0.1`, and every spelling of an IPv6 address is the same one. An
 * entry that is not an address or a range stops the start: compared as text it would never
 * match, and a proxy listed by mistake as `proxy.internal` or `10.0.0.0/33` would silently not
 * be trusted — every client behind it then sharing its failed-authentication bucket.
 */
import { BlockList, isIP } from "node:net";

/** Addresses and ranges, matched as addresses. */
export interface AddressList {
  /** The entries as the configuration gave them. */
  readonly entries: readonly string[];
  /** Whether `address` (a peer's, or one a proxy forwarded) is in the list; text that is no address is not. */
  has(address: string): boolean;
}

/** The ranges' prefix lengths, by family. */
const PREFIX_BITS = { 4: 32, 6: 128 } as const;

/** `address` or `address/prefix`, split and checked; a message when it is neither. */
function parseEntry(
  entry: string,
): { address: string; family: 4 | 6; prefix?: number } | { fault: string } {
  const [address = "", prefix, ...rest] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0)
    return {
      fault: `"${entry}" is not an IP address or a range of them (192.0.2.10, 10.0.0.0/8, fd00::/8)${/[g-z]/i.test(address) ? "; a name is not looked up: give its address" : ""}`,
    };
  const family = version === 6 ? 6 : 4;
  if (prefix === undefined) return { address, family };
  const bits = PREFIX_BITS[family];
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)
    return {
      fault: `"${entry}": the prefix length must be 0 to ${bits} for an IPv${family} range`,
    };
  return { address, family, prefix: Number(prefix) };
}

/** The first entry of `entries` that is not an address or a range, and why. */
export function addressListFault(
  entries: readonly string[],
): { index: number; message: string } | undefined {
  for (const [index, entry] of entries.entries()) {
    const parsed = parseEntry(entry);
    if ("fault" in parsed) return { index, message: parsed.fault };
  }
  return undefined;
}

/** The list of `entries`, each an address or a range ({@link addressListFault} finds none wrong). */
export function addressList(entries: readonly string[]): AddressList {
  const blocks = new BlockList();
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if ("fault" in parsed) throw new Error(parsed.fault);
    const type = parsed.family === 6 ? "ipv6" : "ipv4";
    if (parsed.prefix === undefined) blocks.addAddress(parsed.address, type);
    else blocks.addSubnet(parsed.address, parsed.prefix, type);
  }
  return {
    entries: [...entries],
    has(address) {
      const family = isIP(address);
      return family !== 0 && blocks.check(address, family === 6 ? "ipv6" : "ipv4");
    },
  };
}
