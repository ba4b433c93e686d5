/**
 * The limit on what an attempt may store as its result. A worker (any language speaks the protocol) once
 * stored a 12 MB result that every later read of the job carried. A result over `maxResultBytes` is not
 * stored: the attempt fails with RESULT_TOO_LARGE, not retried (the same job would produce it again).
 * Failing the attempt rather than refusing the report keeps the worker's other reports flowing: a 413
 * on the batch would have made it resend the batch forever.
 */
import type { CompleteInput, FailInput } from "../store/store.ts";

export interface SplitCompletions {
  /** Indexes into the input, to give outcomes back in the caller's order. */
  fits: { index: number; item: CompleteInput }[];
  tooLarge: { index: number; item: FailInput }[];
}

export function splitByResultSize(items: CompleteInput[], maxBytes: number): SplitCompletions {
  const out: SplitCompletions = { fits: [], tooLarge: [] };
  items.forEach((item, index) => {
    if (item.result == null) {
      out.fits.push({ index, item });
      return;
    }
    const resultJson = JSON.stringify(item.result);
    const size = Buffer.byteLength(resultJson);
    if (size <= maxBytes) {
      out.fits.push({ index, item: { ...item, resultJson } });
      return;
    }
    const { result: _dropped, resultJson: _encoded, ...lease } = item;
    out.tooLarge.push({
      index,
      item: {
        ...lease,
        retryable: false,
        error: {
          code: "RESULT_TOO_LARGE",
          message: `The result is ${size} bytes; the server stores at most ${maxBytes} (maxResultBytes)`,
          details: { bytes: size, limit: maxBytes },
        },
      },
    });
  });
  return out;
}
