/**
 * docs/spec-coverage.md maps each SPEC rule to tests by file and title. A test renamed, moved
 * or deleted without the map changing fails here, so the map a reviewer follows always leads
 * to a test that exists.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/spawn.ts";

const map = readFileSync(join(ROOT, "docs", "spec-coverage.md"), "utf8");

/** Each `test/…` file › "title" the map cites. */
const citations = [...map.matchAll(/`(test\/[\w./-]+\.ts)` › "([^"]+)"/g)].map(
  ([, file, title]) => ({ file: file as string, title: title as string }),
);

/** Whether `source` opens a test or a group of tests with this exact title, in any quotes. */
function hasTestTitled(source: string, title: string): boolean {
  return ['"', "'", "`"].some((quote) => {
    const quoted = `${quote}${title}${quote}`;
    let at = source.indexOf(quoted);
    while (at !== -1) {
      if (/\b(test|describe|it)(\.\w+)?\(\s*$/.test(source.slice(Math.max(0, at - 40), at)))
        return true;
      at = source.indexOf(quoted, at + 1);
    }
    return false;
  });
}

test("the map cites tests in every section of the SPEC (so the check below checks something)", () => {
  for (const section of ["§1", "§2", "§3", "§4", "§5", "§6", "§7"])
    expect(map).toContain(`## ${section} `);
  expect(citations.length).toBeGreaterThan(100);
});

test("every test the map cites exists, in the file it names, under that title", () => {
  const missing = citations.filter(
    ({ file, title }) =>
      !existsSync(join(ROOT, file)) ||
      !hasTestTitled(readFileSync(join(ROOT, file), "utf8"), title),
  );
  expect(missing).toEqual([]);
});

test("a file the map names without a title exists", () => {
  const files = [...map.matchAll(/`(test\/[\w./-]+\.ts)`/g)].map(([, file]) => file as string);
  expect(files.filter((file) => !existsSync(join(ROOT, file)))).toEqual([]);
});
