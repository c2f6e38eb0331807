/**
 * `idempotency.key_pattern`: the operator's regular expression that every `Idempotency-Key` a
 * client sends is tested against. The header is the client's text, so the pattern must describe
 * the whole key and must not let that text cost the server more than a glance: a pattern with a
 * repeated group that holds a repetition (`^([a-z0-9]+)+$`) backtracks for over a minute on 34
 * crafted characters (each one doubles the time), holding the event loop and every request
 * behind it. Such a pattern, or one that is not anchored at both ends, stops the start.
 */

/** Why a pattern was refused: the message, for the configuration error. */
export type KeyPatternFault = string;

/**
 * Compiles `source`, or returns why it cannot be used: not a regular expression, not anchored
 * at both ends (`^…$`, alternatives inside a group), or holding nested repetition.
 */
export function compileKeyPattern(source: string): RegExp | KeyPatternFault {
  let pattern: RegExp;
  try {
    pattern = new RegExp(source);
  } catch (error) {
    return `not a regular expression (${(error as Error).message})`;
  }
  const scan = scanPattern(source);
  if (!source.startsWith("^") || !scan.endsWithAnchor || scan.topLevelAlternation) {
    return "must match the whole key: begin it with ^ and end it with $, with any alternatives inside a group (^(?:a|b)$)";
  }
  if (scan.nestedRepetitionAt !== undefined) {
    return `the group ending at character ${scan.nestedRepetitionAt + 1} repeats a repetition, which can take exponential time on a crafted header: describe the key without it, as ^[A-Za-z0-9._-]{8,64}$ does`;
  }
  return pattern;
}

/**
 * Whether a quantifier that repeats starts at `at`: `*`, `+`, `{n,}` or `{n,m}` with m > n
 * (not `?`, not `{n}`).
 */
function repeatsAt(source: string, at: number): boolean {
  const char = source[at];
  if (char === "*" || char === "+") return true;
  const bound = char === "{" ? /^\{(\d+),(\d*)\}/.exec(source.slice(at)) : null;
  return bound !== null && (bound[2] === "" || Number(bound[2]) > Number(bound[1]));
}

/** What {@link scanPattern} found. */
interface PatternScan {
  /** The index of the `)` of the first repeated group that repeats something itself. */
  nestedRepetitionAt: number | undefined;
  /** A `|` outside every group: `^a|b$` is `(^a)|(b$)`, anchored at neither end for all keys. */
  topLevelAlternation: boolean;
  /** The last character is an unescaped `$`. */
  endsWithAnchor: boolean;
}

/**
 * Reads a pattern's structure: escapes and character classes are skipped, and a group's own
 * `?:`, `?=`, `?<name>`… prefix is not a quantifier. Star height 2 or more is what
 * `nestedRepetitionAt` reports.
 */
function scanPattern(source: string): PatternScan {
  const holdsRepetition: boolean[] = [false];
  let topLevelAlternation = false;
  let endsWithAnchor = false;
  let nestedRepetitionAt: number | undefined;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    endsWithAnchor = char === "$";
    if (char === "\\") {
      i++;
    } else if (char === "[") {
      for (i++; i < source.length && source[i] !== "]"; i++) if (source[i] === "\\") i++;
    } else if (char === "(") {
      holdsRepetition.push(false);
      if (source[i + 1] === "?") i++;
    } else if (char === ")") {
      const inner = holdsRepetition.pop() ?? false;
      const repeated = repeatsAt(source, i + 1);
      if (inner && repeated) nestedRepetitionAt ??= i;
      const top = holdsRepetition.length - 1;
      holdsRepetition[top] = (holdsRepetition[top] ?? false) || inner || repeated;
    } else if (char === "|" && holdsRepetition.length === 1) {
      topLevelAlternation = true;
    } else if (repeatsAt(source, i)) {
      holdsRepetition[holdsRepetition.length - 1] = true;
    }
  }
  return { nestedRepetitionAt, topLevelAlternation, endsWithAnchor };
}
