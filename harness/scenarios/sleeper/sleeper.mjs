// A Lambda function that only waits, so a scenario or test sets its timing instead of this machine's
// speed: init sleeps SLEEP_INIT_MS, each invoke sleeps the request's `sleep_ms`. Handler: sleeper.handler.
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const initMs = Number(process.env.SLEEP_INIT_MS || 0);
if (initMs > 0) await wait(initMs);

export const handler = async (event) => {
  // a direct invoke's object, or a function URL event's JSON body
  const input = typeof event?.body === "string" ? JSON.parse(event.body) : event;
  const ms = Number(input?.sleep_ms || 0);
  await wait(ms);
  return { slept_ms: ms, init_ms: initMs };
};
