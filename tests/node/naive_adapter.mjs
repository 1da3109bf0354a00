// A deliberately naive conformance adapter: plain fetch, no validation, no retries, a new
// idempotency key for every attempt. The conformance tests run it to show that the pack
// fails a client that loses track of charges (tests/test_conformance.py lists which).
import { randomUUID } from "node:crypto";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const base = process.env.PARALLEL_SERVICE_API_URL;
const facts = await (await fetch(new URL("/__fake/facts", base))).json();
const op = facts.operations[request.operation];
const args = { ...request.arguments };

let path = op.path;
for (const p of op.path_params) {
  path = path.replace(`{${p.name}}`, encodeURIComponent(String(args[p.name])));
  delete args[p.name];
}
const init = {
  method: op.method,
  headers: { authorization: `Bearer ${process.env.PARALLEL_ACCOUNT_TOKEN}` },
  signal: AbortSignal.timeout(request.timeout_seconds * 1000),
};
if (op.body) {
  if (op.idempotency_key_field && !(op.idempotency_key_field in args)) {
    args[op.idempotency_key_field] = randomUUID(); // a new key per attempt: the naive part
  }
  init.body = JSON.stringify(args);
  init.headers["content-type"] = "application/json";
}

const KINDS = { 401: "authentication", 404: "not_found", 409: "conflict", 422: "unprocessable", 429: "rate_limit" };
const error = (kind, status) => ({
  error: { kind, status_code: status, idempotency_key: null, outcome_unknown: null },
});
let answer;
try {
  const response = await fetch(base + path, init);
  const text = await response.text();
  if (response.ok) answer = { result: text ? JSON.parse(text) : null };
  else answer = error(KINDS[response.status] ?? (response.status >= 500 ? "server" : "other"), response.status);
} catch (e) {
  answer = error(e.name === "TimeoutError" ? "timeout" : "connection", null);
}
console.log(JSON.stringify(answer));
