// The conformance adapter for the reference client: `parallel-account conformance run
// --adapter "node examples/node/adapter.js"`. Reads one request from stdin
// ({"operation", "arguments", "timeout_seconds"}), makes the call with AccountClient
// against $PARALLEL_SERVICE_API_URL with $PARALLEL_ACCOUNT_TOKEN, and prints one JSON
// document: {"result": ...} or {"error": {"kind", "status_code", "idempotency_key",
// "outcome_unknown"}}. Exit status 0 whenever it printed an answer (errors are in the
// document), 2 when stdin is not a request.
import { AccountClient, AccountError } from "./client.js";

/** @returns {Promise<string>} */
async function readStdin() {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(/** @type {Buffer} */ (chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** @param {unknown} request */
async function answer(request) {
  const { operation, arguments: args, timeout_seconds: timeout } =
    /** @type {{ operation?: unknown, arguments?: unknown, timeout_seconds?: unknown }} */ (request);
  const client = new AccountClient({
    timeoutSeconds: typeof timeout === "number" && timeout > 0 ? timeout : 30,
  });
  try {
    return { result: await client.request(String(operation), args ?? {}) };
  } catch (error) {
    if (!(error instanceof AccountError)) throw error;
    const { kind, statusCode, idempotencyKey, outcomeUnknown } = error;
    return {
      error: {
        kind,
        status_code: statusCode,
        idempotency_key: idempotencyKey,
        outcome_unknown: outcomeUnknown,
      },
    };
  }
}

async function main() {
  /** @type {unknown} */
  let request;
  try {
    request = JSON.parse(await readStdin());
  } catch (error) {
    process.stderr.write(`adapter: stdin is not JSON: ${/** @type {Error} */ (error).message}\n`);
    return 2;
  }
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    process.stderr.write("adapter: stdin must be one JSON object\n");
    return 2;
  }
  process.stdout.write(`${JSON.stringify(await answer(request))}\n`);
  return 0;
}

process.exitCode = await main();
