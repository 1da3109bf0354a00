// Run by tests/test_zipapp.py: `node --test` with ZIPAPP_COMMAND, a JSON array that starts
// the zipapp (python3 -I -S dist/parallel-account-mock.pyz: no installed package can help).
// As a team in another language would: start the fake, inject "drop after commit" for the
// next top-up through the control API, call the API with fetch (retrying with the same
// key), and read the ledger. Names and bounds come from the facts the fake serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";

const TOKEN = "node-test-token";

function startMockServer() {
  const [command, ...args] = JSON.parse(process.env.ZIPAPP_COMMAND);
  const child = spawn(command, [...args, "mock-server", "--port", "0", "--token", TOKEN], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("mock-server printed no URL in 60 s")), 60_000);
    child.on("exit", (code) => reject(new Error(`mock-server exited with ${code}`)));
    createInterface({ input: child.stdout }).once("line", (baseUrl) => {
      clearTimeout(timer);
      resolve({ child, baseUrl });
    });
  });
}

test("a top-up whose answer is lost after the charge is charged once when retried with its key", async (t) => {
  const { child, baseUrl } = await startMockServer();
  t.after(() => child.kill("SIGTERM"));
  const root = new URL(baseUrl).origin;
  const control = async (method, path, body) => {
    const response = await fetch(root + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.equal(response.status, 200, `${method} ${path}`);
    return response.json();
  };

  const facts = await control("GET", "/__fake/facts");
  const [name, topUp] = Object.entries(facts.operations).find(([, op]) => op.moves_money);
  const keyField = topUp.idempotency_key_field;
  const amountField = topUp.body.fields.find((f) => f.name !== keyField && f.schema.type === "integer");
  const { minimum, exclusiveMinimum } = amountField.schema;
  const amount = minimum ?? exclusiveMinimum + 1;
  const key = `node-${randomUUID()}`;

  await control("POST", "/__fake/faults/drop_next", { operation: name, after_commit: true });

  const topUpOnce = () =>
    fetch(baseUrl + topUp.path, {
      method: topUp.method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ [amountField.name]: amount, [keyField]: key }),
    });
  let answer;
  let lost = 0;
  while (answer === undefined && lost < 3) {
    try {
      answer = await topUpOnce();
    } catch {
      lost += 1; // the connection closed without an answer: try again with the same key
    }
  }
  assert.equal(lost, 1);
  assert.equal(answer.status, topUp.success_status);

  const ledger = await control("GET", "/__fake/ledger");
  assert.deepEqual(ledger, {
    entries: [{ idempotency_key: key, amount_cents: amount, charges: 1, replays: 1, conflicts: 0 }],
    charges: 1,
  });
  const requests = await control("GET", "/__fake/requests");
  assert.equal(requests.counts[name], 2);
  const balance = await control("GET", "/__fake/balance");
  assert.equal(balance.credit_balance_cents, amount);
});
