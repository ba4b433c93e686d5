/** Keeps the last `limit` characters of a stream: a job's result holds tails, its log holds everything. */
export class TailBuffer {
  readonly #limit: number;
  #text = "";

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.#limit * 2) this.#text = this.#text.slice(-this.#limit);
  }

  toString(): string {
    return this.#text.length > this.#limit ? this.#text.slice(-this.#limit) : this.#text;
  }
}

/** Splits a stream into lines (with their "\n"), holding back a partial last line until more arrives. */
export class LineSplitter {
  #partial = "";
  readonly #emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  push(chunk: string): void {
    const text = this.#partial + chunk;
    const end = text.lastIndexOf("\n");
    if (end === -1) {
      this.#partial = text;
      return;
    }
    this.#partial = text.slice(end + 1);
    for (const line of text.slice(0, end + 1).split(/(?<=\n)/)) this.#emit(line);
  }

  end(): void {
    if (this.#partial) this.#emit(`${this.#partial}\n`);
    this.#partial = "";
  }
}
