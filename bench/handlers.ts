/** Handlers for the remote-worker benchmark: `bosun worker --handlers bench/handlers.ts`. */
export default {
  noop: async () => null,
};
