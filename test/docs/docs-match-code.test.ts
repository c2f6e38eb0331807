/**
 * The reference docs name everything the code offers: every field of the config file, every
 * environment variable, every error code, every HTTP route and every CLI command and flag. A
 * field, code, route or flag added without its documentation fails here, so the docs an
 * operator reads cannot fall behind the code they describe.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { Kind, type TSchema } from "@sinclair/typebox";
import { eventCatalogue } from "../../events/index.ts";
import { ConfigFileSchema } from "../../src/config/config-file.ts";
import { ERROR_CATALOGUE } from "../../src/errors/keygate-error.ts";
import { scrapedGauges } from "../../src/metrics/index.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { allProjections } from "../../src/projections/rebuild.ts";
import { testAppPerTest } from "../support/http.ts";
import { keygate, ROOT } from "../support/spawn.ts";

const doc = (name: string) => readFileSync(join(ROOT, "docs", name), "utf8");

/** Whether `text` names `word` as code: in backticks, alone or as the last part of a dotted path, or as a JSON member. */
function namesAsCode(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`\`([\\w.\\[\\]]*\\.)?${escaped}\`|"${escaped}"\\s*:`).test(text);
}

/**
 * Every field path of a TypeBox object schema (`gateway.routes[].entity.kinds`), through
 * optional fields, unions and arrays. The members of `errors.codes` are the error codes,
 * checked on their own below.
 */
function fieldPaths(schema: TSchema, at: string[] = []): string[][] {
  if (schema.type === "array")
    return fieldPaths(schema.items as TSchema, [...at.slice(0, -1), `${at.at(-1)}[]`]);
  if (schema.anyOf) return (schema.anyOf as TSchema[]).flatMap((member) => fieldPaths(member, at));
  if (schema[Kind] !== "Object" || at.join(".") === "errors.codes") return [];
  return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([name, field]) => {
    const path = [...at, name];
    return [path, ...fieldPaths(field, path)];
  });
}

/** The doc that describes a config section's fields: its own page for the large sections. */
const SECTION_DOC: Record<string, string> = {
  gateway: "gateway.md",
  rate_limits: "rate-limits.md",
};

describe("the config file", () => {
  const paths = fieldPaths(ConfigFileSchema);

  test("the walk reaches the nested fields (so the checks below check something)", () => {
    const dotted = paths.map((path) => path.join("."));
    expect(dotted).toContain("gateway.routes[].entity.kinds");
    expect(dotted).toContain("rate_limits.routes[].algorithm");
    expect(dotted).toContain("tls.cert_path");
    expect(paths.length).toBeGreaterThan(50);
  });

  test("every top-level field is in configuration.md's table", () => {
    const configuration = doc("configuration.md");
    const missing = Object.keys(ConfigFileSchema.properties).filter(
      (name) => !new RegExp(`^\\| \`${name}[.\`]`, "m").test(configuration),
    );
    expect(missing).toEqual([]);
  });

  test("every nested field is named in the doc of its section", () => {
    const missing = paths
      .filter((path) => path.length > 1)
      .filter((path) => {
        const text = doc(SECTION_DOC[path[0] as string] ?? "configuration.md");
        const leaf = (path.at(-1) as string).replace("[]", "");
        return !namesAsCode(text, leaf);
      })
      .map((path) => path.join("."));
    expect(missing).toEqual([]);
  });
});

test("every environment variable the code reads is in configuration.md", () => {
  const read = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".ts"))
        for (const match of readFileSync(path, "utf8").matchAll(/\bKEYGATE_[A-Z_]+\b/g))
          read.add(match[0]);
    }
  };
  walk(join(ROOT, "src"));
  expect(read.size).toBeGreaterThan(10);
  const configuration = doc("configuration.md");
  const missing = [...read].filter((name) => !configuration.includes(`| \`${name}\``));
  expect(missing).toEqual([]);
});

test("every error code is a row of http.md's error table, with its status and type", () => {
  const http = doc("http.md");
  const wrong = Object.entries(ERROR_CATALOGUE)
    .filter(([code, { status, type }]) => !http.includes(`| ${status} | \`${code}\` | ${type} |`))
    .map(([code]) => code);
  expect(wrong).toEqual([]);
});

test("every event type is a row of event-log.md's catalogue, at its schema version, naming each data field", () => {
  const log = doc("event-log.md");
  expect(eventCatalogue.size).toBeGreaterThan(10);
  const wrong = [...eventCatalogue.values()].flatMap(({ type, schemaVersion, schema }) => {
    const row = log.split("\n").find((line) => line.startsWith(`| \`${type}\``));
    const version = row?.split("|")[2]?.trim();
    if (version !== String(schemaVersion)) return [`${type}: v${version}, not v${schemaVersion}`];
    return Object.keys(schema.properties)
      .filter((field) => !row?.includes(`\`${field}\``))
      .map((field) => `${type}: ${field}`);
  });
  expect(wrong).toEqual([]);
});

describe("a running Keygate", () => {
  const testApp = testAppPerTest();

  test("every route Keygate serves is in http.md, its parameters written {id}", () => {
    const { app } = testApp();
    const http = doc("http.md");
    const routes = (app.routes as { method: string; path: string }[]).map(
      ({ method, path }) => `${method} ${path.replace(/:(\w+)/g, "{$1}")}`,
    );
    expect(routes).toContain("POST /v1/api-keys/{id}/rotate");
    const missing = routes.filter((route) => {
      if (http.includes(`\`${route}\``)) return false;
      // A row may list a sibling as its last segment: `POST /v1/entities/{id}/deactivate`, `…/reactivate`.
      const [head, tail] = [
        route.slice(0, route.lastIndexOf("/")),
        route.slice(route.lastIndexOf("/")),
      ];
      return !new RegExp(`\`${head.replace(/[{}]/g, "\\$&")}/[\\w-]+\`, \`…${tail}\``).test(http);
    });
    expect(missing).toEqual([]);
  });
  test("every metric series, the gauges read at a scrape included, is a row of gateway.md's metrics table, with its type", () => {
    const { kg } = testApp();
    const gateway = doc("gateway.md");
    const series = [...new Metrics().render(scrapedGauges(kg)).matchAll(/^# TYPE (\w+) (\w+)$/gm)];
    expect(series.length).toBe(9);
    const missing = series
      .filter(([, name, type]) => !gateway.includes(`| \`${name}\` | ${type} |`))
      .map(([, name]) => name);
    expect(missing).toEqual([]);
  });

  test("every projection is a row of event-log.md's projections table", () => {
    const { kg } = testApp();
    const log = doc("event-log.md");
    const names = allProjections(kg.db.sql).map((projection) => projection.name);
    expect(names).toContain("api_keys");
    const missing = names.filter((name) => !new RegExp(`^\\| \`${name}\` +\\|`, "m").test(log));
    expect(missing).toEqual([]);
  });
});

describe("the CLI", () => {
  const usage = keygate(["help"], {}).stdout;
  const cli = doc("cli.md");
  const audit = doc("audit.md");
  /** Each usage entry: its command words and the flags on its lines. */
  const entries: { command: string; flags: string[] }[] = [];
  for (const line of usage.split("\n")) {
    const start = /^ {2}([a-z][a-z-]*)(?: ([a-z][a-z-]*))?\b/.exec(line);
    const flags = [...line.matchAll(/--[a-z][a-z-]*/g)].map((match) => match[0]);
    if (start) entries.push({ command: [start[1], start[2]].filter(Boolean).join(" "), flags });
    else if (/^ {4,}/.test(line) && entries.length) entries.at(-1)?.flags.push(...flags);
  }

  test("the usage lists every command (so the checks below check something)", () => {
    const commands = entries.map((entry) => entry.command);
    expect(commands).toContain("keys rotate");
    expect(commands).toContain("audit verify");
    expect(commands).toContain("serve");
    expect(entries.length).toBeGreaterThan(25);
  });

  test("every command of the usage is in cli.md's table", () => {
    const missing = entries
      .map((entry) => entry.command)
      .filter((command) => {
        const sub = command.split(" ")[1];
        return !cli.includes(`\`${command}`) && !(sub && cli.includes(`/ \`${sub} `));
      });
    expect(missing).toEqual([]);
  });

  test("every flag of the usage is in cli.md (the audit commands': or audit.md)", () => {
    const missing = entries.flatMap(({ command, flags }) =>
      flags
        .filter(
          (flag) => !cli.includes(flag) && !(command.startsWith("audit") && audit.includes(flag)),
        )
        .map((flag) => `${command} ${flag}`),
    );
    expect(missing).toEqual([]);
  });
});

/** The anchors GitHub gives a Markdown file's headings (code blocks left out). */
function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of text.replace(/```[\s\S]*?```/g, "").matchAll(/^#+ (.*)$/gm)) {
    const base = (heading as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, "")
      .replaceAll(" ", "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test("every relative link of the README, the changelog and the docs reaches its file, and its heading", () => {
  const pages = [
    "README.md",
    "CHANGELOG.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue;
      const [path, anchor] = (target as string).split("#");
      const file = path ? normalize(join(dirname(page), path)) : page;
      checked++;
      if (!existsSync(join(ROOT, file))) broken.push(`${page}: ${target}`);
      else if (
        anchor &&
        file.endsWith(".md") &&
        !headingAnchors(readFileSync(join(ROOT, file), "utf8")).has(anchor)
      )
        broken.push(`${page}: ${target}`);
    }
  }
  expect(checked).toBeGreaterThan(50);
  expect(broken).toEqual([]);
});
