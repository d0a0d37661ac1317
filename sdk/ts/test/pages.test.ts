// The served pages' token handling (transport/web/ui/static/common.js),
// run in node with the browser globals it uses stubbed: outside --dev a
// page asks for a token once per tab, not on every reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const jwt = (exp: number) => `x.${Buffer.from(JSON.stringify({ sub: "a1", exp })).toString("base64url")}.y`;

test("pages keep a prompted token for the tab", async () => {
  const kept = new Map<string, string>();
  const g = globalThis as any;
  g.location = { search: "", origin: "http://node.test" };
  g.sessionStorage = { getItem: (k: string) => kept.get(k) ?? null, setItem: (k: string, v: string) => kept.set(k, v), removeItem: (k: string) => kept.delete(k) };
  g.fetch = async () => ({ ok: false, status: 404 }); // no /dev/token: not a dev node
  let asked = 0;
  let answer = jwt(Math.floor(Date.now() / 1000) + 3600);
  g.prompt = () => (asked++, answer);
  const here = path.dirname(fileURLToPath(import.meta.url)); // sdk/ts/dist/test
  const page = await import(pathToFileURL(path.resolve(here, "../../../../transport/web/ui/static/common.js")).href);

  const first = await page.token("a1", "workbench");
  assert.equal(first, answer);
  assert.equal(asked, 1);
  // Reconnects that get their welcome: no prompt.
  for (let i = 0; i < 5; i++) {
    assert.equal(await page.token("a1", "workbench"), first);
    page.tokenWorked("a1", "workbench");
  }
  assert.equal(asked, 1);
  // Another device of the page has its own token.
  await page.token("a1", "web");
  assert.equal(asked, 2);

  // A token that never gets a welcome is asked again after three tries.
  answer = jwt(Math.floor(Date.now() / 1000) + 3600) + "2";
  for (let i = 0; i < 3; i++) assert.equal(await page.token("a1", "workbench"), first);
  assert.equal(asked, 2);
  assert.equal(await page.token("a1", "workbench"), answer);
  assert.equal(asked, 3);
  page.tokenWorked("a1", "workbench");

  // An expired token is asked again at once.
  kept.set("switchboard.token.a1/workbench", jwt(Math.floor(Date.now() / 1000) - 1));
  answer = jwt(Math.floor(Date.now() / 1000) + 3600) + "3";
  assert.equal(await page.token("a1", "workbench"), answer);
  assert.equal(asked, 4);

  // No answer: no token.
  kept.clear();
  answer = "";
  await assert.rejects(page.token("a1", "workbench"), /no token/);
});
