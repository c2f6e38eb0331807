/**
 * given/when/then for pure deciders, after Emmett's DeciderSpecification:
 * `spec.given([events]).when(command).then([events])` or `.thenThrows(code)`.
 */
import { expect } from "bun:test";
import { KeygateError, type KeygateErrorCode } from "../../src/errors/keygate-error.ts";

/** A pure decider: decide, evolve and the initial state. */
export interface Decider<C, E, S> {
  decide: (command: C, state: S) => E[];
  evolve: (state: S, event: E) => S;
  initialState: S;
}

/** Builds a given/when/then specification for a decider. */
export function deciderSpec<C, E, S>(decider: Decider<C, E, S>) {
  return {
    given(events: E[]) {
      return {
        when(command: C) {
          const run = () =>
            decider.decide(command, events.reduce(decider.evolve, decider.initialState));
          return {
            /** The command produces exactly these events. */
            // biome-ignore lint/suspicious/noThenProperty: the given/when/then reading is the point; this object is never awaited.
            then(expected: E[]) {
              expect(run()).toEqual(expected);
            },
            /** Refused with this error code, and a message that matches `message` or is it. */
            thenThrows(code: KeygateErrorCode, message?: RegExp | string) {
              let caught: unknown;
              try {
                run();
              } catch (error) {
                caught = error;
              }
              expect(caught).toBeInstanceOf(KeygateError);
              expect((caught as KeygateError).code).toBe(code);
              const said = (caught as KeygateError).message;
              if (typeof message === "string") expect(said).toBe(message);
              else if (message) expect(said).toMatch(message);
            },
          };
        },
      };
    },
  };
}
