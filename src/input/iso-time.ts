/**
 * Times that callers send (`expires_at` over HTTP, `--expires-at` on the command line): ISO
 * 8601 date-times as RFC 3339 profiles them, read strictly where `new Date()` is lenient. The
 * offset is required, because a time without one is read in the server's own time zone; and
 * the calendar must hold the date, because `new Date("2027-02-30T00:00:00Z")` is 2 March.
 */

/** Date, `T`, time (seconds optional, fraction up to nanoseconds), then `Z` or `±hh:mm`. */
const DATE_TIME =
  /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(?:[Zz]|([+-])(\d\d):(\d\d))$/;

/** An example of the form, for error messages. */
export const ISO_TIME_EXAMPLE = "2027-01-31T00:00:00Z";

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The instant `raw` names, or undefined if it is not such a date-time or names no day or time
 * of the calendar (month 13, 30 February, 24:00, a leap second's :60, an offset past ±23:59).
 * A fraction finer than milliseconds is cut to them, as `Date` holds no finer.
 */
export function parseIsoTime(raw: string): Date | undefined {
  const match = DATE_TIME.exec(raw);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = Number(match[6] ?? 0);
  const millis = (match[7] ?? "").padEnd(3, "0").slice(0, 3);
  const [sign, offsetHours, offsetMinutes] = [match[8], Number(match[9]), Number(match[10])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (sign && (offsetHours > 23 || offsetMinutes > 59)) return undefined;
  // This exact form is one that Date.parse reads as UTC for every year from 0000 to 9999.
  const [, y, mo, d, h, mi, s = "00"] = match;
  const utc = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}Z`);
  const offsetMs = sign ? (sign === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000 : 0;
  return new Date(utc - offsetMs);
}
