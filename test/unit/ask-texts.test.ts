// What the ask stage says about a question: the line on stderr, in the client's log and in progress
// (howToAnswer), and the client's elicitation form (elicitationFor). Clients keep the first in files
// the agent can read, and pass the form through hooks and logs: neither carries a link that answers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ApprovalRequest } from "../../src/approvals/broker.js";
import { elicitationFor, howToAnswer } from "../../src/gateway/stages/ask.js";

const ID = "3f9c2a71b04e58d19a7c0e42b6f3d815";
const request: ApprovalRequest = {
  kind: "call",
  server: "github",
  serverIdentity: "sha256:abc",
  tool: "mcp__github__create_issue",
  arguments: { title: "x" },
  argumentsDigest: "sha256:def",
  reason: "matched an ask rule",
  policyVersion: "v1",
  answers: ["allow-once", "deny"],
};

describe("what the ask stage says about a question", () => {
  test("howToAnswer names the question and only the ways that exist, never a link", () => {
    assert.equal(
      howToAnswer("mcp__github__create_issue", ID, { cli: true, console: true }),
      `mcp__github__create_issue needs approval (question ${ID}): run \`mcp-warden approvals approve ${ID}\` or answer it in the console (\`mcp-warden console\` prints a sign-in link)`,
    );
    assert.equal(howToAnswer("t", ID, { cli: true, console: false }), `t needs approval (question ${ID}): run \`mcp-warden approvals approve ${ID}\``);
    assert.equal(howToAnswer("t", ID, { cli: false, console: false }), `t needs approval (question ${ID})`);
    assert.match(howToAnswer("t", ID, { cli: false, console: false, approversAt: "https://gw.example/v1/approvals" }), /a principal with the approver role answers it through https:\/\/gw\.example\/v1\/approvals$/);
    assert.doesNotMatch(howToAnswer("t", ID, { cli: true, console: true }), /[?&]t=|\/a\/|http/);
  });

  test("the elicitation form shows the call and names the other ways to answer, with no link", () => {
    const form = elicitationFor(request, ID, { cli: true, console: true });
    const message = String(form.message);
    assert.match(message, /Tool: mcp__github__create_issue/);
    assert.match(message, new RegExp(`Or run \`mcp-warden approvals approve ${ID}\` or answer it in the console \\(\`mcp-warden console\` prints a sign-in link\\)\\.$`));
    assert.doesNotMatch(message, /[?&]t=|\/a\/|http/);
    assert.doesNotMatch(String(elicitationFor(request, ID, { cli: false, console: false }).message), /\nOr /, "no other way: nothing named");
  });
});
