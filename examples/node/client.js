// A reference client for Parallel's Account API in plain Node.js (18+): global fetch, no
// runtime dependencies. What it knows of the API comes from the generated files of the
// pinned spec (generated/typescript/, written by `make generate`): bounds and formats to
// validate with, the idempotency-key field, the retry class of every operation. Types are
// JSDoc, checked by `tsc -p examples/node` (`make typecheck-ts`).
//
// The rules, the same as the Python client's (parallel_account/_retry.py, _attempts.py):
// - arguments are checked against the facts before anything is sent (InvalidRequest);
// - an operation whose `retry` is "safe" is retried after 408, 429, 500, 502, 503, 504
//   (409 only with Retry-After), a timeout or a lost connection; `x-should-retry: true|false`
//   from the server decides when present; Retry-After(-ms) is honoured up to 60 s, else
//   0.5 s doubling up to 8 s, with jitter; 2 retries by default;
// - an "only_if_never_sent" operation (creating an app or a key) is retried only when the
//   connection could not be made: a retry after a lost answer could create a second one;
// - every attempt of one call carries the same idempotency key (made here when the caller
//   gave none), and an error reports it, with `outcomeUnknown` when an attempt may have
//   been carried out (a charge or a create) without us seeing the answer;
// - a DELETE retried after a lost answer and then answered 404 is done.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { facts } from "../../generated/typescript/facts.mjs";

/** @typedef {import("../../generated/typescript/facts.mjs").OperationName} OperationName */
/** @typedef {import("../../generated/typescript/facts.mjs").OperationFacts} OperationFacts */
/** @typedef {import("../../generated/typescript/facts.mjs").FieldFacts} FieldFacts */
/**
 * @template {OperationName} N
 * @typedef {import("../../generated/typescript/facts.mjs").Arguments<N>} Arguments
 */
/**
 * @template {OperationName} N
 * @typedef {import("../../generated/typescript/facts.mjs").Result<N>} Result
 */
/**
 * @typedef {"invalid_request" | "authentication" | "not_found" | "conflict" | "unprocessable"
 *   | "rate_limit" | "server" | "connection" | "timeout" | "other"} ErrorKind
 */

/** Statuses that may go away on their own (409 only with Retry-After). */
const RETRYABLE_STATUSES = new Set([408, 409, 429, 500, 502, 503, 504]);
/** Error codes of a connection that could not be made: the request never left. */
const NEVER_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);
/** fetch's own refusals (its error's cause has these messages and no code). */
const LOCAL_REFUSALS = new Set(["bad port", "unknown scheme"]);
/** @type {Readonly<Record<number, ErrorKind>>} */
const KIND_BY_STATUS = {
  401: "authentication",
  404: "not_found",
  409: "conflict",
  422: "unprocessable",
  429: "rate_limit",
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
// Characters that would end a path segment or change how a URL layer reads it.
const SEGMENT_BREAKERS = /[/?#%\\\s\x00-\x1f\x7f]/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A failed call: what went wrong, and whether it may have been carried out. */
export class AccountError extends Error {
  /**
   * @param {ErrorKind} kind
   * @param {string} message never the token or a secret field's value
   * @param {{ statusCode?: number | null, idempotencyKey?: string | null,
   *   outcomeUnknown?: boolean, cause?: unknown }} [details]
   */
  constructor(kind, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "AccountError";
    /** @type {ErrorKind} */
    this.kind = kind;
    /** @type {number | null} the HTTP status of the last answer, null when there was none */
    this.statusCode = details.statusCode ?? null;
    /** @type {string | null} the key every attempt carried: retry with it, never a new one */
    this.idempotencyKey = details.idempotencyKey ?? null;
    /** @type {boolean} an attempt may have been carried out without us seeing the answer */
    this.outcomeUnknown = details.outcomeUnknown ?? false;
  }
}

/** @param {string} message */
const invalid = (message) => new AccountError("invalid_request", message);

/** An answer body larger than this is refused (no answer of this API comes near it). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** The spec's `pattern` (ECMA-262 syntax, as JSON Schema says) compiled, or a clear error. */
function specPattern(/** @type {string} */ name, /** @type {string} */ pattern) {
  try {
    return new RegExp(pattern, "u");
  } catch {
    const shown = JSON.stringify(pattern);
    throw new AccountError("other", `${name}: the spec's pattern ${shown} is not a JavaScript regex`);
  }
}

/**
 * The answer's body as text (within the attempt's timeout), null when over MAX_ANSWER_BYTES.
 * @param {Response} response
 * @returns {Promise<string | null>}
 */
async function readBody(response) {
  if (response.body === null) return "";
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) return null; // leaving the loop cancels the stream
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** A short, safe description of a value for a message: long or odd strings by length only. */
function describe(/** @type {unknown} */ value) {
  if (typeof value === "string") {
    return value.length <= 40 && !/[^\x20-\x7e]/.test(value)
      ? JSON.stringify(value)
      : `a string of ${[...value].length} characters`;
  }
  if (value === null || ["number", "boolean", "undefined"].includes(typeof value)) {
    return String(value);
  }
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/** @param {import("../../generated/typescript/facts.mjs").Constraints} s @param {string} name */
function allowedRange(s, name) {
  const low =
    s.exclusiveMinimum !== undefined
      ? `${s.exclusiveMinimum} < `
      : s.minimum !== undefined
        ? `${s.minimum} <= `
        : "";
  const high =
    s.exclusiveMaximum !== undefined
      ? ` < ${s.exclusiveMaximum}`
      : s.maximum !== undefined
        ? ` <= ${s.maximum}`
        : "";
  return `${low}${name}${high}`;
}

/**
 * Check one value against its facts; return it as it is to be sent.
 * @param {FieldFacts} field
 * @param {unknown} value
 * @param {boolean} pathSegment
 * @returns {unknown}
 */
export function checkValue(field, value, pathSegment = false) {
  const { name, schema: s } = field;
  if (typeof value === "string" && LONE_SURROGATE.test(value)) {
    throw invalid(`${name}: a string that is not valid Unicode text (a lone surrogate)`);
  }
  if (s.format === "uuid") {
    if (typeof value !== "string" || !UUID.test(value)) {
      throw invalid(
        `${name}: got ${describe(value)}; expected a UUID like "123e4567-e89b-12d3-a456-426614174000"`,
      );
    }
    return value.toLowerCase();
  }
  if (s.type === "integer" || s.type === "number") {
    const integer = s.type === "integer";
    const allowed = `${integer ? "an integer" : "a number"} with ${allowedRange(s, name)}`;
    if (typeof value !== "number" || !(integer ? Number.isSafeInteger(value) : Number.isFinite(value))) {
      throw invalid(`${name}: got ${describe(value)}; expected ${allowed}`);
    }
    const outside =
      (s.minimum !== undefined && value < s.minimum) ||
      (s.maximum !== undefined && value > s.maximum) ||
      (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) ||
      (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum);
    if (outside) throw invalid(`${name}: ${value} is out of range; expected ${allowed}`);
    return value;
  }
  if (s.type === "boolean") {
    if (typeof value !== "boolean") throw invalid(`${name}: got ${describe(value)}; expected true or false`);
    return value;
  }
  if (s.type === "string") {
    // JSON Schema lengths count characters (code points), not UTF-16 units.
    const low = s.minLength ?? (pathSegment ? 1 : 0);
    const rule =
      s.maxLength !== undefined
        ? `${low} to ${s.maxLength} characters`
        : low > 0
          ? `at least ${low} character${low === 1 ? "" : "s"}`
          : "any length";
    if (typeof value !== "string") {
      throw invalid(`${name}: got ${describe(value)}; expected a string of ${rule}`);
    }
    const length = [...value].length;
    if (length < low || (s.maxLength !== undefined && length > s.maxLength)) {
      throw invalid(`${name}: ${length} characters is out of range; expected a string of ${rule}`);
    }
    if (s.pattern !== undefined && !specPattern(name, s.pattern).test(value)) {
      throw invalid(`${name}: ${describe(value)} does not match ${JSON.stringify(s.pattern)}`);
    }
    if (s.enum !== undefined && !s.enum.includes(value)) {
      throw invalid(`${name}: ${describe(value)} is not one of ${JSON.stringify(s.enum)}`);
    }
    if (s.format === "date" && !(DATE.test(value) && !Number.isNaN(Date.parse(value)))) {
      throw invalid(`${name}: ${describe(value)} is not a date; expected e.g. "2026-11-22"`);
    }
    if (s.format === "date-time" && !(DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) {
      const example = "2026-11-22T09:30:00Z";
      throw invalid(`${name}: ${describe(value)} is not an RFC 3339 date-time; expected e.g. "${example}"`);
    }
    if (pathSegment && (value === "." || value === ".." || SEGMENT_BREAKERS.test(value))) {
      throw invalid(`${name}: ${describe(value)} cannot be a path segment`);
    }
    return value;
  }
  return value;
}

/**
 * Build the request of one call from its arguments (the spec's names), checked.
 * @param {string} operation
 * @param {unknown} args
 */
export function prepare(operation, args) {
  if (!Object.prototype.hasOwnProperty.call(facts.operations, operation)) {
    const names = Object.keys(facts.operations).join(", ");
    throw invalid(`operation: ${describe(operation)} is not an operation of the pinned spec; expected one of ${names}`);
  }
  /** @type {OperationFacts} */
  const op = facts.operations[/** @type {OperationName} */ (operation)];
  if (args === null || args === undefined) args = {};
  if (typeof args !== "object" || Array.isArray(args)) {
    throw invalid(`arguments: got ${describe(args)}; expected an object of parameter names to values`);
  }
  const given = /** @type {Record<string, unknown>} */ (args);
  const fields = [...op.path_params, ...op.query_params, ...(op.body?.fields ?? [])];
  const unknown = Object.keys(given).filter((k) => !fields.some((f) => f.name === k)).sort();
  if (unknown.length > 0) {
    const known = fields.map((f) => f.name).sort().join(", ") || "no arguments";
    throw invalid(`${unknown[0]}: not a parameter of ${operation}; expected ${known}`);
  }
  /** @param {FieldFacts} field @param {string} where */
  const missing = (field, where) => {
    const what = field.schema.format ?? field.schema.type ?? "a value";
    return invalid(`${field.name}: missing; ${operation} requires this ${where} (${what})`);
  };
  let path = op.path;
  for (const field of op.path_params) {
    const value = given[field.name];
    if (value === undefined || value === null) throw missing(field, "path parameter");
    const checked = String(checkValue(field, value, true));
    path = path.replace(`{${field.name}}`, encodeURIComponent(checked));
  }
  const query = new URLSearchParams();
  for (const field of op.query_params) {
    const value = given[field.name];
    if (value === undefined || value === null) {
      if (field.required) throw missing(field, "query parameter");
      continue;
    }
    query.append(field.name, String(checkValue(field, value)));
  }
  /** @type {Record<string, unknown> | null} */
  let body = null;
  let idempotencyKey = null;
  if (op.body !== null) {
    body = {};
    for (const field of op.body.fields) {
      let value = given[field.name];
      if ((value === undefined || value === null) && field.name === op.idempotency_key_field) {
        value = randomUUID(); // one key for every attempt of this call
      }
      if (value === undefined || value === null) {
        if (field.required) throw missing(field, "field");
        continue;
      }
      body[field.name] = checkValue(field, value);
    }
    if (op.idempotency_key_field !== null) idempotencyKey = String(body[op.idempotency_key_field]);
  }
  const search = query.toString() === "" ? "" : `?${query}`;
  return { operation, op, path: path + search, body, idempotencyKey };
}

/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl] the API's base URL (default: the spec's server URL)
 * @property {string} [token] the bearer token
 * @property {number} [timeoutSeconds] per attempt, the answer's body included (default 30)
 * @property {number} [maxRetries] retries after the first attempt (default 2)
 * @property {(seconds: number) => Promise<unknown>} [sleep] how to wait between attempts
 * @property {() => number} [random] in [0, 1), for the backoff's jitter
 */

/** The delay a failed answer asks for (retry-after-ms, then Retry-After), capped; else null. */
export function retryAfterSeconds(/** @type {Headers} */ headers, maxSeconds = 60) {
  const cap = (/** @type {number} */ s) => Math.max(0, Math.min(s, maxSeconds));
  const number = (/** @type {string | null} */ text) => {
    if (text === null || text.trim() === "") return null;
    const n = Number(text);
    return Number.isFinite(n) && n >= 0 ? n : null;
  };
  const millis = number(headers.get("retry-after-ms"));
  if (millis !== null) return cap(millis / 1000);
  const value = headers.get("retry-after");
  if (value === null) return null;
  const seconds = number(value);
  if (seconds !== null) return cap(seconds);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : cap((when - Date.now()) / 1000);
}

/** Whether an error answer may go away on its own. */
export function retryableAnswer(/** @type {Response} */ response) {
  const should = (response.headers.get("x-should-retry") ?? "").trim().toLowerCase();
  if (should === "true" || should === "false") return should === "true";
  if (response.status === 409) {
    return response.headers.has("retry-after") || response.headers.has("retry-after-ms");
  }
  return RETRYABLE_STATUSES.has(response.status);
}

/** Whether a fetch failure proves the request never left (no connection was made). */
function neverSent(/** @type {unknown} */ error) {
  const cause = /** @type {{ cause?: { code?: string, message?: string, errors?: { code?: string }[] } }} */ (
    error
  ).cause;
  if (cause?.code !== undefined && NEVER_SENT_CODES.has(cause.code)) return true;
  // Refused by fetch itself, before any connection (a port or scheme fetch never uses).
  if (cause?.code === undefined && LOCAL_REFUSALS.has(cause?.message ?? "")) return true;
  // Node tries every address of a host name; all of them refusing is still "never sent".
  const errors = cause?.errors ?? [];
  return errors.length > 0 && errors.every((e) => e.code !== undefined && NEVER_SENT_CODES.has(e.code));
}

const isTimeout = (/** @type {unknown} */ error) =>
  error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");

/** A client for the Account API: validation, retries and idempotency keys from the facts. */
export class AccountClient {
  /** @type {string | undefined} a private field: never in a log line, inspect or JSON */
  #token;

  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const base = options.baseUrl ?? process.env.PARALLEL_SERVICE_API_URL ?? facts.server_url;
    if (!base) throw invalid("baseUrl: none given, and the spec names no server");
    let protocol = "";
    try {
      protocol = new URL(base).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "http:" && protocol !== "https:") {
      const example = "https://api.parallel.ai/account";
      throw invalid(`baseUrl: ${describe(base)} is not an http(s) URL; expected e.g. "${example}"`);
    }
    this.baseUrl = base.replace(/\/+$/, "");
    this.#token = options.token ?? process.env.PARALLEL_ACCOUNT_TOKEN;
    this.timeoutSeconds = options.timeoutSeconds ?? 30;
    this.maxRetries = options.maxRetries ?? 2;
    this.sleep = options.sleep ?? ((/** @type {number} */ s) => sleep(s * 1000));
    this.random = options.random ?? Math.random;
  }

  /**
   * Call an operation with typed arguments; resolves to its answer.
   * @template {OperationName} N
   * @param {N} operation
   * @param {Arguments<N>} args
   * @returns {Promise<Result<N>>}
   */
  async call(operation, args) {
    return /** @type {Result<N>} */ (await this.request(operation, args));
  }

  /**
   * Call an operation named at run time, with arguments of unknown shape (all checked).
   * @param {string} operation
   * @param {unknown} args
   * @returns {Promise<unknown>} the answer's JSON (null for an empty answer)
   * @throws {AccountError}
   */
  async request(operation, args) {
    const call = prepare(operation, args);
    const { op, idempotencyKey } = call;
    const token = this.#token;
    if (op.requires_auth && !token) {
      throw new AccountError("authentication", `${operation}: no token (set PARALLEL_ACCOUNT_TOKEN)`);
    }
    const url = this.baseUrl + call.path;
    /** @type {Record<string, string>} */
    const headers = { accept: "application/json" };
    if (op.requires_auth) headers.authorization = `Bearer ${token}`;
    if (call.body !== null) headers["content-type"] = "application/json";
    const payload = call.body === null ? undefined : JSON.stringify(call.body);
    const safe = op.retry === "safe";
    // Once an attempt may have been carried out without us seeing the answer.
    let mayHaveHappened = false;
    const unknown = () => mayHaveHappened && (idempotencyKey !== null || !safe);
    /**
     * @param {ErrorKind} kind @param {string} message @param {number | null} status
     * @param {unknown} [cause]
     */
    const fail = (kind, message, status, cause) =>
      new AccountError(kind, `${op.method} ${op.path}: ${message}`, {
        statusCode: status,
        idempotencyKey,
        outcomeUnknown: unknown(),
        cause,
      });

    for (let attempt = 1; ; attempt += 1) {
      /** @type {Response | null} */
      let response = null;
      /** @type {unknown} */
      let failure = null;
      /** @type {string | null} */
      let text = "";
      try {
        const signal = AbortSignal.timeout(this.timeoutSeconds * 1000);
        response = await fetch(url, { method: op.method, headers, body: payload, signal });
        text = await readBody(response); // within the same timeout
      } catch (error) {
        failure = error;
      }
      if (response === null || failure !== null) {
        // No answer. Lost on the way (not a refused connection): it may have been carried out.
        mayHaveHappened ||= !neverSent(failure);
        if (!(safe || neverSent(failure)) || attempt > this.maxRetries) {
          if (isTimeout(failure)) throw fail("timeout", `no answer within ${this.timeoutSeconds} s`, null);
          const code = /** @type {{ cause?: { code?: string } }} */ (failure).cause?.code;
          throw fail("connection", `connection failed${code ? ` (${code})` : ""}`, null, failure);
        }
        await this.sleep(this.backoff(attempt));
        continue;
      }
      const status = response.status;
      const alreadyDeleted = op.method === "DELETE" && status === 404 && mayHaveHappened;
      if (response.ok || alreadyDeleted) {
        if (alreadyDeleted || text?.trim() === "") return null;
        // Done by the server, but the answer cannot be read. JSON.parse's message quotes
        // the body, which may hold a secret (a raw API key): not passed on.
        mayHaveHappened = true;
        const why = text === null ? `over ${MAX_ANSWER_BYTES} bytes` : "not JSON";
        const unreadable = () => fail("other", `HTTP ${status}: the answer is ${why}`, status);
        if (text === null) throw unreadable();
        try {
          return JSON.parse(text);
        } catch {
          throw unreadable();
        }
      }
      mayHaveHappened ||= status >= 500;
      if (!(safe && retryableAnswer(response)) || attempt > this.maxRetries) {
        const kind = KIND_BY_STATUS[status] ?? (status >= 500 ? "server" : "other");
        throw fail(kind, `HTTP ${status}`, status);
      }
      await this.sleep(retryAfterSeconds(response.headers) ?? this.backoff(attempt));
    }
  }

  /** Seconds before retry number `retry`: 0.5 s doubling up to 8 s, times a jitter in [0.5, 1). */
  backoff(/** @type {number} */ retry) {
    return Math.min(8, 0.5 * 2 ** (retry - 1)) * (0.5 + 0.5 * this.random());
  }
}
