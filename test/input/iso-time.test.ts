import { describe, expect, test } from "bun:test";
import { parseIsoTime } from "../../src/input/iso-time.ts";

const iso = (raw: string) => parseIsoTime(raw)?.toISOString();

describe("parseIsoTime", () => {
  test("reads date-times with Z or an offset, to the millisecond", () => {
    expect(iso("2027-01-31T00:00:00Z")).toBe("2027-01-31T00:00:00.000Z");
    expect(iso("2027-01-31t10:20:30z")).toBe("2027-01-31T10:20:30.000Z");
    expect(iso("2027-01-31T00:00Z")).toBe("2027-01-31T00:00:00.000Z");
    expect(iso("2027-01-01T01:30:00+02:00")).toBe("2026-12-31T23:30:00.000Z");
    expect(iso("2026-12-31T22:00:00-05:30")).toBe("2027-01-01T03:30:00.000Z");
    expect(iso("2027-01-31T00:00:00.5Z")).toBe("2027-01-31T00:00:00.500Z");
    expect(iso("2027-01-31T00:00:00.123456789Z")).toBe("2027-01-31T00:00:00.123Z");
    expect(iso("2028-02-29T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(iso("2000-02-29T00:00:00Z")).toBe("2000-02-29T00:00:00.000Z");
    expect(iso("0050-06-01T00:00:00Z")).toBe("0050-06-01T00:00:00.000Z");
  });

  test("refuses days the calendar lacks, which new Date() would roll into the next month", () => {
    for (const raw of [
      "2027-02-30T00:00:00Z",
      "2027-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2027-04-31T00:00:00Z",
      "2027-13-01T00:00:00Z",
      "2027-00-10T00:00:00Z",
      "2027-01-00T00:00:00Z",
      "2027-01-01T24:00:00Z",
      "2027-01-01T23:60:00Z",
      "2027-01-01T23:59:60Z",
      "2027-01-01T00:00:00+24:00",
      "2027-01-01T00:00:00+02:60",
    ])
      expect([raw, parseIsoTime(raw)]).toEqual([raw, undefined]);
  });

  test("refuses a time without its offset (the server's zone would decide), and other forms", () => {
    for (const raw of [
      "2027-01-01T00:00:00",
      "2027-01-01",
      "2027-01-01 00:00:00Z",
      "2027-01-01T00:00:00+0200",
      "2027-01-01T00:00:00.Z",
      "2027-01-01T00:00:00.1234567890Z",
      "27-01-01T00:00:00Z",
      "+002027-01-01T00:00:00Z",
      "tomorrow",
      "1800000000",
      "",
      " 2027-01-01T00:00:00Z",
    ])
      expect([raw, parseIsoTime(raw)]).toEqual([raw, undefined]);
  });
});
