/**
 * Turns the words after `--` back into one bash command that runs exactly those words. The shell
 * executor runs `bash -c <command>`, so `bosun submit -- sh -c 'echo out; exit 5'` must store
 * `sh -c 'echo out; exit 5'`, not the joined `sh -c echo out; exit 5` (a different program). Quoting is
 * Python's shlex.quote: a word of safe characters stays as it is (the stored command stays readable),
 * anything else goes in single quotes, where bash gives no character a meaning; a single quote itself
 * is closed, escaped and reopened ('\''). A few lines, so no dependency.
 *
 * `--script <file>` sends a local file's text as payload.script (run as run.sh) instead: jobs run in a
 * working directory of their own, on whichever worker takes them, so a local path means nothing there.
 */
import { readFileSync } from "node:fs";
import { json, UsageError } from "./commands/parse.ts";

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word quoted for bash. */
export function quoteWord(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The bash command that runs `words` as one program and its arguments, boundaries kept. */
export function commandLine(words: string[]): string {
  return words.map(quoteWord).join(" ");
}

/** The payload: --payload, plus for shell jobs the command after -- or the script of --script. */
export function shellPayload(
  words: string[],
  f: { type: string; payload?: string; script?: string },
): unknown {
  const payload = f.payload === undefined ? undefined : json("payload", f.payload);
  if (f.type !== "shell") {
    if (words.length > 0 || f.script !== undefined)
      throw new UsageError(
        `the words after -- and --script are for shell jobs; give a ${f.type} job its payload with --payload`,
      );
    return payload;
  }
  if (words.length > 0 && f.script !== undefined)
    throw new UsageError("give either the command after -- or --script <file>, not both");
  if (words.length === 0 && f.script === undefined) {
    if (payload !== undefined) return payload;
    throw new UsageError(
      "give the command after --, e.g. bosun submit -- echo hello, or a script: --script ./run.sh",
    );
  }
  if (payload !== undefined && (typeof payload !== "object" || payload === null || Array.isArray(payload)))
    throw new UsageError("--payload of a shell job must be a JSON object");
  const extra = payload as object | undefined;
  return f.script !== undefined
    ? { ...extra, script: readScript(f.script) }
    : { ...extra, command: commandLine(words) };
}

function readScript(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`--script ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}
