/** Address lists in the config file (`gateway.trusted_proxies`, `metrics.allow`): matched as addresses. */
import { describe, expect, test } from "bun:test";
import { type AddressList, addressList, addressListFault } from "../../src/config/address-list.ts";
import { UNKNOWN_ADDRESS } from "../../src/http/peer-address.ts";

/** Which of `addresses` `list` holds, each paired with the answer. */
function held(list: AddressList, addresses: string[]): [string, boolean][] {
  return addresses.map((address) => [address, list.has(address)]);
}

describe("address lists", () => {
  test("an address matches in any spelling: an IPv4 client on a dual-stack socket, an IPv6 address written out or in capitals", () => {
    const list = addressList(["127.0.0.1", "::1", "2001:db8::7"]);
    const inside = ["127.0.0.1", "::ffff:127.0.0.1", "::1", "0:0:0:0:0:0:0:1", "2001:DB8::7"];
    expect(held(list, inside)).toEqual(inside.map((address) => [address, true]));
    const outside = ["127.0.0.2", "::2", "2001:db8::8", UNKNOWN_ADDRESS, "", "127.0.0.1:80"];
    expect(held(list, outside)).toEqual(outside.map((address) => [address, false]));
  });

  test("a CIDR range matches every address inside it, of its own family or mapped into it", () => {
    const list = addressList(["10.0.0.0/8", "fd00::/8", "192.0.2.128/25"]);
    const inside = ["10.0.0.1", "10.255.255.255", "::ffff:10.2.3.4", "fd12:3456::1", "192.0.2.200"];
    expect(held(list, inside)).toEqual(inside.map((address) => [address, true]));
    const outside = ["11.0.0.1", "9.255.255.255", "fe80::1", "192.0.2.127"];
    expect(held(list, outside)).toEqual(outside.map((address) => [address, false]));
  });

  test("an entry that is no address or range is named, with what is wrong: compared as text it would never match", () => {
    expect(addressListFault(["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/128"])).toBeUndefined();
    const cases: [string, string][] = [
      [
        "proxy.internal",
        '"proxy.internal" is not an IP address or a range of them (192.0.2.10, 10.0.0.0/8, fd00::/8); a name is not looked up: give its address',
      ],
      ["10.0.0.0/33", '"10.0.0.0/33": the prefix length must be 0 to 32 for an IPv4 range'],
      ["fd00::/129", '"fd00::/129": the prefix length must be 0 to 128 for an IPv6 range'],
      [
        "10.0.0.0/8/8",
        '"10.0.0.0/8/8" is not an IP address or a range of them (192.0.2.10, 10.0.0.0/8, fd00::/8)',
      ],
      ["10.0.0.0/", '"10.0.0.0/": the prefix length must be 0 to 32 for an IPv4 range'],
      [
        "10.0.0.256",
        '"10.0.0.256" is not an IP address or a range of them (192.0.2.10, 10.0.0.0/8, fd00::/8)',
      ],
    ];
    for (const [entry, message] of cases)
      expect(addressListFault(["127.0.0.1", entry])).toEqual({ index: 1, message });
  });
});
