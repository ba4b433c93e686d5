/**
 * What the README tour test needs to run a README's shell blocks as a person at a terminal does: the
 * blocks themselves (```sh after an `<!-- tour -->` comment), each cut into the commands a shell would
 * read one at a time, what each command's comments say it prints (`# … → text`), and a shell session
 * (one bash process kept open, so `. scripts/node-env.sh`, `id=$(…)` and `cmd &` carry over from one
 * command to the next, as in a terminal).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { waitUntil } from "./wait.ts";

export interface TourBlock {
  /** `session` (the terminal the reader types in), or the word after `tour:` (`own terminal`, `postgres`). */
  kind: string;
  commands: TourCommand[];
}

export interface TourCommand {
  /** The command as the README shows it, continuation lines and heredoc included. */
  text: string;
  /** The exit code the README promises: `→ exit N`, otherwise 0. */
  exitCode: number;
  /** What the output must contain, from each `→ text` comment; `…` in the text stands for anything. */
  prints: RegExp[];
  /** Ends with `&`: the command starts a Bosun node in the background. */
  background: boolean;
}

/** The shell blocks marked `<!-- tour -->` or `<!-- tour: kind -->`, in the order the README has them. */
export function tourBlocks(markdown: string): TourBlock[] {
  const blocks: TourBlock[] = [];
  for (const m of markdown.matchAll(/<!-- tour(?::\s*([\w ]+?))?\s*-->\n```sh\n([\s\S]*?)```/g))
    blocks.push({ kind: m[1] ?? "session", commands: shellCommands(m[2]!) });
  return blocks;
}

/**
 * A block cut into commands: a command goes on past a line that ends in `\`, inside an open quote, and
 * through a heredoc to its terminator. Comment lines and blank lines between commands are skipped.
 */
export function shellCommands(block: string): TourCommand[] {
  const out: TourCommand[] = [];
  let lines: string[] = [];
  let code: string[] = []; // the lines outside heredoc bodies: where quotes and comments mean something
  let heredoc: string | null = null;
  for (const line of block.split("\n")) {
    if (lines.length === 0 && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    lines.push(line);
    if (heredoc !== null) {
      if (line !== heredoc) continue;
      heredoc = null;
    } else {
      code.push(line);
      const start = /<<-?\s*['"]?(\w+)['"]?/.exec(line);
      if (start) {
        heredoc = start[1]!;
        continue;
      }
    }
    const scan = scanShell(code.join("\n"));
    if (scan.open) continue;
    out.push(command(lines.join("\n"), scan.comments));
    lines = [];
    code = [];
  }
  if (lines.length > 0) throw new Error(`unfinished command in a tour block:\n${lines.join("\n")}`);
  return out;
}

function command(text: string, comments: string[]): TourCommand {
  const said = comments.flatMap((c) => (c.includes("→ ") ? [c.slice(c.lastIndexOf("→ ") + 2).trim()] : []));
  const exit = said.map((s) => /^exit (\d+)$/.exec(s)).find((m) => m);
  const prints = said
    .filter((s) => !/^exit \d+$/.test(s))
    .map((s) => new RegExp(s.split("…").map(escapeRegExp).join("[\\s\\S]*?")));
  return {
    text,
    exitCode: exit ? Number(exit[1]) : 0,
    prints,
    background: /(^|[^&])&\s*(#.*)?$/.test(text.split("\n").at(-1)!),
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether the text leaves a quote or a line continuation open, and the comments in it. */
function scanShell(text: string): { open: boolean; comments: string[] } {
  const comments: string[] = [];
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === "\\") {
      if (i === text.length - 1) return { open: true, comments };
      i++;
    } else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf("\n", i);
      comments.push(text.slice(i + 1, end < 0 ? text.length : end));
      if (end < 0) break;
      i = end;
    }
  }
  return { open: quote !== null, comments };
}

/** What one command did. */
export interface Ran {
  exitCode: number;
  /** stdout then stderr of the command (and whatever background nodes logged meanwhile). */
  output: string;
}

/**
 * One bash process, its own process group (so that `kill(-pid)` ends it and everything it started in the
 * background), fed one command at a time. After each command it prints a numbered mark with the exit
 * code on stdout and the mark on stderr, which is how the session knows the command is over. Each
 * command runs with stdin from /dev/null, so that nothing it starts can read the commands after it.
 */
export class ShellSession {
  readonly proc: ChildProcess;
  #stdout = "";
  #stderr = "";
  #n = 0;

  constructor(opts: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.proc = spawn("bash", ["--noprofile", "--norc"], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc.stdout!.on("data", (d) => (this.#stdout += d));
    this.proc.stderr!.on("data", (d) => (this.#stderr += d));
  }

  /** Everything the session printed so far, both streams. */
  get all(): string {
    return this.#stdout + this.#stderr;
  }

  async run(text: string, timeoutMs = 120_000): Promise<Ran> {
    const mark = `__bosun_tour_${++this.#n}__`;
    const from = { out: this.#stdout.length, err: this.#stderr.length };
    this.proc.stdin!.write(
      `{\n${text}\n} </dev/null\nprintf '\\n${mark} %d\\n' $?\nprintf '\\n${mark}\\n' >&2\n`,
    );
    const { exitCode } = await waitUntil(
      () => {
        if (this.proc.exitCode !== null) throw new Error(`the shell ended:\n${this.all}`);
        const m = new RegExp(`\\n${mark} (\\d+)\\n`).exec(this.#stdout.slice(from.out));
        return m && this.#stderr.slice(from.err).includes(`\n${mark}\n`) ? { exitCode: Number(m[1]) } : null;
      },
      { timeoutMs, intervalMs: 50, what: `the tour command to end: ${text}\n${this.all}` },
    );
    const cut = (s: string, at: number) => s.slice(at, s.indexOf(`\n${mark}`, at));
    return { exitCode, output: cut(this.#stdout, from.out) + cut(this.#stderr, from.err) };
  }

  /** Ends the session and everything it started (SIGKILL to its process group). */
  kill(): void {
    killGroup(this.proc, "SIGKILL");
  }
}

/** A signal to a detached child's whole process group, as a terminal's Ctrl-C does. */
export function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid) process.kill(-proc.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
