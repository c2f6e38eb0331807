/**
 * `bun run bench [scenario...]`: runs the named scenarios (default: all) and prints each
 * figure beside its target. Later issues add HTTP scenarios that report ratios against a
 * bare Elysia route measured in the same run.
 */
import { auditScenario } from "./audit.ts";
import { authScenario } from "./auth.ts";
import { denoScenario } from "./deno.ts";
import { gatewayScenario } from "./gateway.ts";
import { idempotencyScenario } from "./idempotency.ts";
import { rateLimitScenario } from "./ratelimit.ts";
import { storeScenario } from "./store.ts";

/** One measured figure. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The target, if the issue set one, and whether higher or lower is better. */
  target?: { value: number; better: "higher" | "lower" };
}

/** A benchmark scenario. */
export interface Scenario {
  name: string;
  run(): Promise<Figure[]>;
}

const scenarios: Scenario[] = [
  storeScenario,
  authScenario,
  rateLimitScenario,
  idempotencyScenario,
  gatewayScenario,
  auditScenario,
  denoScenario,
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !scenarios.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s): ${unknown.join(", ")}; known: ${scenarios.map((s) => s.name).join(", ")}`,
  );
  process.exit(2);
}

let missed = 0;
for (const scenario of scenarios.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  console.log(`\n== ${scenario.name}`);
  for (const f of await scenario.run()) {
    const value = f.value.toLocaleString("en-US", { maximumFractionDigits: 1 });
    let verdict = "";
    if (f.target) {
      const ok =
        f.target.better === "higher" ? f.value >= f.target.value : f.value <= f.target.value;
      if (!ok) missed++;
      verdict = `  target ${f.target.better === "higher" ? "≥" : "≤"} ${f.target.value.toLocaleString("en-US")}  ${ok ? "met" : "MISSED"}`;
    }
    console.log(`${f.name.padEnd(44)} ${value.padStart(14)} ${f.unit}${verdict}`);
  }
}
console.log(missed === 0 ? "\nall targets met" : `\n${missed} target(s) missed`);
