// Secrets in flight: every format found (nested, escaped, flattened), near-misses left alone,
// redaction exact, bounds fail closed, and no finding ever carries the secret.
//
// Every fake secret is built at run time (prefixes split, bodies from a seeded generator, keys from
// node:crypto), so this file holds nothing a secret scanner of the repository would flag.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { compileSecretScanner, isSecretName, type SecretFinding } from "../../src/policy/integrity/secrets.js";

// ---------------------------------------------------------------------------------------------
// Fakes

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const B62 = UPPER + LOWER + DIGITS;
const B64URL = B62 + "-_";
const HEX = "0123456789abcdef";

/** Deterministic random text over an alphabet (xorshift32). */
function fake(alphabet: string, length: number, seed: number): string {
  let x = seed >>> 0 || 1;
  let out = "";
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

/** Independent CRC32 + base62 checksum, as GitHub and npm tokens carry. */
function withChecksum(body30: string): string {
  let crc = 0xffffffff;
  for (let i = 0; i < body30.length; i++) {
    crc ^= body30.charCodeAt(i);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  let n = (crc ^ 0xffffffff) >>> 0;
  let digits = "";
  for (let i = 0; i < 6; i++) {
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[n % 62] + digits;
    n = Math.floor(n / 62);
  }
  return body30 + digits;
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");
const BEGIN = (label: string) => "-----" + "BEGIN " + label + "-----";
const END = (label: string) => "-----" + "END " + label + "-----";
const PK = "PRIVATE " + "KEY";

/** name → a value of that format; kinds are what the scanner must report. */
const TOKENS: Array<{ kind: string; value: string; note: string }> = [
  { kind: "aws-access-key-id", value: "AK" + "IA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1), note: "long-term key id" },
  { kind: "aws-access-key-id", value: "AS" + "IA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 2), note: "temporary key id" },
  { kind: "github-token", value: "gh" + "p_" + withChecksum(fake(B62, 30, 3)), note: "classic PAT with checksum" },
  { kind: "github-token", value: "gh" + "p_" + fake(B62, 36, 33), note: "classic PAT, checksum not valid" },
  { kind: "github-token", value: "gh" + "o_" + fake(B62, 36, 4), note: "OAuth" },
  { kind: "github-token", value: "gh" + "u_" + fake(B62, 36, 5), note: "user-to-server" },
  { kind: "github-token", value: "gh" + "s_" + fake(B62, 36, 6), note: "server-to-server" },
  { kind: "github-token", value: "gh" + "r_" + fake(B62, 36, 7), note: "refresh" },
  { kind: "github-token", value: "github" + "_pat_" + fake(B62, 22, 8) + "_" + fake(B62, 59, 9), note: "fine-grained" },
  { kind: "gitlab-token", value: "gl" + "pat-" + fake(B64URL, 20, 10), note: "personal" },
  { kind: "slack-token", value: "xo" + "xb-" + fake(DIGITS, 11, 11) + "-" + fake(DIGITS, 13, 12) + "-" + fake(B62, 24, 13), note: "bot" },
  { kind: "slack-token", value: "xo" + "xp-" + fake(DIGITS, 11, 14) + "-" + fake(DIGITS, 11, 15) + "-" + fake(DIGITS, 12, 16) + "-" + fake(HEX, 32, 17), note: "user" },
  { kind: "slack-webhook", value: "https://hooks." + "slack.com/services/T" + fake(UPPER + DIGITS, 8, 18) + "/B" + fake(UPPER + DIGITS, 8, 19) + "/" + fake(B62, 24, 20), note: "webhook" },
  { kind: "stripe-secret-key", value: "sk" + "_live_" + fake(B62, 24, 21), note: "secret" },
  { kind: "stripe-secret-key", value: "rk" + "_live_" + fake(B62, 24, 22), note: "restricted" },
  { kind: "google-api-key", value: "AI" + "za" + fake(B64URL, 35, 23), note: "API key" },
  { kind: "openai-api-key", value: "sk" + "-proj-" + fake(B64URL, 80, 24) + "T3Blbk" + "FJ" + fake(B64URL, 60, 25), note: "project key" },
  { kind: "openai-api-key", value: "sk" + "-" + fake(B62, 20, 26) + "T3Blbk" + "FJ" + fake(B62, 20, 27), note: "legacy key" },
  { kind: "openai-api-key", value: "sk" + "-" + fake(B62, 48, 28), note: "key without the marker" },
  { kind: "anthropic-api-key", value: "sk" + "-ant-api03-" + fake(B64URL, 93, 29) + "AA", note: "API key" },
  { kind: "npm-token", value: "np" + "m_" + withChecksum(fake(B62, 30, 30)), note: "access token" },
  { kind: "pypi-token", value: "py" + "pi-AgEIcHlwaS5vcmc" + fake(B64URL, 70, 31), note: "API token" },
  { kind: "twilio-api-key", value: "S" + "K" + fake(HEX, 32, 32), note: "API key SID" },
  { kind: "sendgrid-api-key", value: "S" + "G." + fake(B64URL, 22, 34) + "." + fake(B64URL, 43, 35), note: "API key" },
  {
    kind: "jwt",
    value: b64url(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + b64url(JSON.stringify({ sub: "1234567890", name: "Jo" })) + "." + fake(B64URL, 43, 36),
    note: "HS256",
  },
  { kind: "jwt", value: b64url('{ "alg": "none" }') + "." + b64url('{"sub":"x"}') + ".", note: "unsigned, spaced header" },
  { kind: "huggingface-token", value: "h" + "f_" + fake(UPPER + LOWER, 34, 37), note: "access token" },
  { kind: "digitalocean-token", value: "do" + "p_v1_" + fake(HEX, 64, 38), note: "personal token" },
  { kind: "shopify-token", value: "shp" + "at_" + fake(HEX, 32, 39), note: "admin token" },
  { kind: "google-oauth", value: "GOC" + "SPX-" + fake(B64URL, 28, 40), note: "client secret" },
  { kind: "stripe-webhook-secret", value: "wh" + "sec_" + fake(B62, 32, 41), note: "webhook secret" },
  { kind: "telegram-bot-token", value: fake(DIGITS, 9, 42).replace(/^0/, "1") + ":" + "AA" + fake(B64URL, 33, 43), note: "bot token" },
  { kind: "discord-webhook", value: "https://discord.com/api/" + "webhooks/" + fake(DIGITS, 18, 44) + "/" + fake(B64URL, 68, 45), note: "webhook" },
];

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * A finding may name where and what, never the secret or its first 6 characters. The kind is a word
 * from a fixed vocabulary (or "configured:" and a name) and may share a public prefix with a token:
 * "github-token" and "github_pat_…" both start with "github".
 */
function assertNoLeak(findings: readonly SecretFinding[], secret: string): void {
  for (const f of findings) {
    for (const field of [f.path, f.kind, f.description]) assert.ok(!field.includes(secret), `finding field leaks the secret: ${field.slice(0, 40)}`);
    for (const field of [f.path, f.description]) {
      assert.ok(!field.includes(secret.slice(0, 6)), `finding field leaks the secret's first 6 characters: ${f.kind} at ${f.path}`);
    }
    assert.match(f.kind, /^(?:[a-z0-9-]+|configured:[A-Z_]+)$/);
  }
}

const scanner = compileSecretScanner({});
const kinds = (fs: readonly SecretFinding[]) => fs.map((f) => f.kind);

// ---------------------------------------------------------------------------------------------

describe("red-team mcp-029 and private keys in every shape", () => {
  const openssh =
    BEGIN("OPENSSH " + PK) + "\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n" + END("OPENSSH " + PK);

  test("mcp-029: an OpenSSH private key in an argument of an allowed tool is found and redacted whole", () => {
    const args = { city: "Paris", auth: openssh };
    const findings = scanner.scan(args, "arguments");
    assert.deepEqual(findings.map(({ path, kind }) => ({ path, kind })), [{ path: "arguments.auth", kind: "private-key" }]);
    assertNoLeak(findings, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB");
    const red = scanner.redact(args, "arguments");
    assert.deepEqual(red.value, { city: "Paris", auth: "[REDACTED:private-key]" });
    assert.deepEqual(red.findings, findings);
  });

  // Real keys, generated now: every PEM label Node can write.
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ed = generateKeyPairSync("ed25519");
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const pems: Array<[string, string]> = [
    ["RSA (PKCS#1)", rsa.privateKey.export({ type: "pkcs1", format: "pem" }) as string],
    ["RSA (PKCS#8)", rsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string],
    ["RSA, encrypted (PKCS#8)", rsa.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "correct horse" }) as string],
    ["RSA, encrypted (PKCS#1, Proc-Type headers)", rsa.privateKey.export({ type: "pkcs1", format: "pem", cipher: "aes-128-cbc", passphrase: "correct horse" }) as string],
    ["EC (SEC1)", ec.privateKey.export({ type: "sec1", format: "pem" }) as string],
    ["Ed25519 (PKCS#8)", ed.privateKey.export({ type: "pkcs8", format: "pem" }) as string],
    ["DSA (PKCS#8)", dsa.privateKey.export({ type: "pkcs8", format: "pem" }) as string],
    ["OpenSSH", openssh],
    [
      "PGP",
      BEGIN("PGP " + PK + " BLOCK") + "\nVersion: GnuPG v2\nComment: test <t@example.com>\n\n" + fake(B62 + "+/", 64, 50) + "\n" + fake(B62 + "+/", 40, 51) + "\n=" + fake(B62, 4, 52) + "\n" + END("PGP " + PK + " BLOCK"),
    ],
  ];

  for (const [name, pem] of pems) {
    const body = pem.split("\n").find((l) => /^[A-Za-z0-9+/]{40,}$/.test(l)) ?? pem.slice(40, 80);
    const shapes: Array<[string, unknown, string]> = [
      ["as is", { key: pem }, "key"],
      ["newlines written as \\n escapes", { key: pem.replace(/\n/g, "\\n") }, "key"],
      ["newlines written as \\r\\n escapes", { key: pem.replace(/\n/g, "\\r\\n") }, "key"],
      ["newlines replaced by spaces", { key: pem.replace(/\n/g, " ") }, "key"],
      ["JSON text inside a string field", { payload: JSON.stringify({ deploy: { key: pem } }) }, "payload"],
      ["JSON text inside JSON text", { payload: JSON.stringify({ inner: JSON.stringify({ key: pem }) }) }, "payload"],
      ["without the END line", { key: pem.slice(0, pem.indexOf("-----END")) }, "key"],
      ["the whole file base64-encoded", { key: Buffer.from(pem).toString("base64") }, "key"],
      ["the whole file base64url-encoded after other bytes", { key: Buffer.from("id: 7\n" + pem).toString("base64url") }, "key"],
      ["the whole file hex-encoded", { key: Buffer.from(pem).toString("hex") }, "key"],
      ["the whole file percent-encoded", { url: "https://x.example/?k=" + encodeURIComponent(pem) }, "url"],
      ["the whole file form-encoded", { body: new URLSearchParams({ key: pem }).toString() }, "body"],
      ["deep in nested arguments", { a: [{ b: { c: [null, "prefix " + pem] } }] }, "a[0].b.c[1]"],
    ];
    for (const [shape, args, path] of shapes) {
      test(`${name} key, ${shape}`, () => {
        const findings = scanner.scan(args);
        assert.deepEqual(kinds(findings), ["private-key"], JSON.stringify(findings));
        assert.equal(findings[0]!.path, path);
        assertNoLeak(findings, body);
        const red = JSON.stringify(scanner.redact(args).value);
        assert.ok(!red.includes(body.slice(0, 20)), "the key body survived redaction");
      });
    }
  }

  test("a DER private key in base64 without any header (PKCS#1, PKCS#8, SEC1) is found", () => {
    const ders = [
      rsa.privateKey.export({ type: "pkcs1", format: "der" }),
      rsa.privateKey.export({ type: "pkcs8", format: "der" }),
      ec.privateKey.export({ type: "sec1", format: "der" }),
      ec.privateKey.export({ type: "pkcs8", format: "der" }),
      ed.privateKey.export({ type: "pkcs8", format: "der" }),
    ];
    for (const der of ders) {
      const b64 = der.toString("base64");
      const findings = scanner.scan({ blob: `key=${b64};` });
      assert.deepEqual(kinds(findings), ["private-key"], b64.slice(0, 8));
      assert.deepEqual(scanner.redact({ blob: `key=${b64};` }).value, { blob: "key=[REDACTED:private-key];" });
    }
  });

  test("a PuTTY key file is found", () => {
    const ppk = `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\n${fake(B62, 64, 60)}\n${fake(B62, 20, 61)}\nPrivate-Lines: 1\n${fake(B62, 44, 62)}\nPrivate-MAC: ${fake(HEX, 64, 63)}`;
    assert.deepEqual(kinds(scanner.scan({ f: ppk })), ["private-key"]);
    assert.deepEqual(scanner.redact({ f: `before\n${ppk}\nafter` }).value, { f: "before\n[REDACTED:private-key]\nafter" });
  });

  test("public keys, certificates and placeholder key blocks are not private keys", () => {
    const benign = [
      rsa.publicKey.export({ type: "spki", format: "pem" }) as string,
      rsa.publicKey.export({ type: "pkcs1", format: "pem" }) as string,
      rsa.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      Buffer.from(rsa.publicKey.export({ type: "spki", format: "pem" }) as string).toString("base64"),
      encodeURIComponent(rsa.publicKey.export({ type: "spki", format: "pem" }) as string),
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + fake(B62, 43, 53) + " user@host",
      BEGIN(PK) + "\n...\n" + END(PK),
      BEGIN("RSA " + PK) + "\n<your key here>\n" + END("RSA " + PK),
      BEGIN(PK) + "\nPaste the contents of your key file here\n" + END(PK),
      'if (pem.startsWith("' + BEGIN(PK) + '")) strip(pem, "' + END(PK) + '")',
      "The header line reads " + BEGIN("RSA " + PK) + " and marks the start of the key.",
    ];
    for (const text of benign) assert.deepEqual(scanner.scan({ text }), [], text.slice(0, 60));
  });
});

describe("token formats", () => {
  for (const { kind, value, note } of TOKENS) {
    test(`${kind} (${note}): found deep in arguments, redacted exactly, never leaked`, () => {
      const args = { level1: { items: [{ text: `use ${value} now` }] } };
      const findings = scanner.scan(args, "arguments");
      assert.deepEqual(findings.map(({ path, kind }) => ({ path, kind })), [{ path: "arguments.level1.items[0].text", kind }], JSON.stringify(findings));
      assertNoLeak(findings, value);
      const red = scanner.redact(args, "arguments");
      assert.deepEqual(red.value, { level1: { items: [{ text: `use [REDACTED:${kind}] now` }] } });
      assertNoLeak(red.findings, value);
    });

    test(`${kind} (${note}): found inside JSON text, after an escaped newline, and alone`, () => {
      for (const text of [JSON.stringify({ note: `line one\n${value}` }), JSON.stringify(JSON.stringify({ t: `x\n${value}\ny` })), value, `"${value}"`]) {
        const findings = scanner.scan({ text });
        assert.deepEqual(kinds(findings), [kind], text.slice(0, 50));
        assertNoLeak(findings, value);
      }
    });
  }

  test("a GitHub token with a valid checksum says so; one without is still reported", () => {
    const valid = scanner.scan("gh" + "p_" + withChecksum(fake(B62, 30, 3)));
    const invalid = scanner.scan("gh" + "p_" + fake(B62, 36, 33));
    assert.match(valid[0]!.description, /checksum valid/);
    assert.deepEqual(kinds(invalid), ["github-token"]);
    assert.doesNotMatch(invalid[0]!.description, /checksum valid/);
  });

  test("AWS secret access keys when labelled, in text and as a property", () => {
    const secret = fake(B62 + "/+", 40, 70);
    for (const text of [`aws_secret_access_key = ${secret}`, `AWS_SECRET_ACCESS_KEY=${secret}`, JSON.stringify({ SecretAccessKey: secret })]) {
      const findings = scanner.scan({ text });
      assert.deepEqual(kinds(findings), ["aws-secret-access-key"], text.slice(0, 30));
      assertNoLeak(findings, secret);
    }
    assert.deepEqual(scanner.scan({ aws_secret_access_key: secret }), [
      { path: "aws_secret_access_key", kind: "aws-secret-access-key", description: "AWS secret access key (labelled)" },
    ]);
    assert.deepEqual(scanner.redact(`aws_secret_access_key: ${secret}\nregion: eu-west-1`).value, "aws_secret_access_key: [REDACTED:aws-secret-access-key]\nregion: eu-west-1");
  });

  test("database and other URLs with a password: only the password is redacted", () => {
    const pw = fake(B62, 14, 71);
    const cases: Array<[string, string, string]> = [
      [`postgres://app:${pw}@db.internal:5432/prod`, "database-url-password", `postgres://app:[REDACTED:database-url-password]@db.internal:5432/prod`],
      [`mongodb+srv://root:${pw}@cluster0.example.net/test`, "database-url-password", `mongodb+srv://root:[REDACTED:database-url-password]@cluster0.example.net/test`],
      [`redis://:${pw}@cache:6379/0`, "database-url-password", `redis://:[REDACTED:database-url-password]@cache:6379/0`],
      [`jdbc:mysql://u:${pw}@h/db`, "database-url-password", `jdbc:mysql://u:[REDACTED:database-url-password]@h/db`],
      [`git clone https://deploy:${pw}@git.example.com/r.git`, "url-password", `git clone https://deploy:[REDACTED:url-password]@git.example.com/r.git`],
      [JSON.stringify({ dsn: `line\npostgresql://a:${pw}@h/d` }), "database-url-password", JSON.stringify({ dsn: `line\npostgresql://a:[REDACTED:database-url-password]@h/d` })],
    ];
    for (const [text, kind, redacted] of cases) {
      const findings = scanner.scan(text);
      assert.deepEqual(kinds(findings), [kind], text);
      assertNoLeak(findings, pw);
      assert.equal(scanner.redact(text).value, redacted);
    }
  });

  test("HTTP Basic and Bearer credentials", () => {
    const basic = Buffer.from(`admin:${fake(B62, 12, 72)}`).toString("base64");
    const bearer = fake(B64URL, 40, 73);
    assert.deepEqual(scanner.redact({ h: `Authorization: Basic ${basic}` }).value, { h: "Authorization: Basic [REDACTED:basic-auth]" });
    assert.deepEqual(kinds(scanner.scan({ h: `Authorization: Bearer ${bearer}` })), ["bearer-token"]);
    assert.deepEqual(scanner.redact({ headers: { Authorization: `Bearer ${bearer}` } }).value, { headers: { Authorization: "Bearer [REDACTED:bearer-token]" } });
  });

  test("generic assignments: high-entropy values under secret names", () => {
    const pw = "Xk9#mP2$" + "vL8q";
    const cases: Array<[unknown, unknown]> = [
      [{ password: pw }, { password: "[REDACTED:generic-secret]" }],
      [{ db: { adminPassword: pw } }, { db: { adminPassword: "[REDACTED:generic-secret]" } }],
      [{ "X-Api-Key": fake(B62, 32, 74) }, { "X-Api-Key": "[REDACTED:generic-secret]" }],
      [{ config: `{"password": "${pw}", "user": "bob"}` }, { config: '{"password": "[REDACTED:generic-secret]", "user": "bob"}' }],
      [{ env: `DB_PASSWORD=${pw}\nDEBUG=1` }, { env: "DB_PASSWORD=[REDACTED:generic-secret]\nDEBUG=1" }],
      [{ url: `https://api.example.com/v1?api_key=${fake(B62, 24, 75)}&q=1` }, { url: "https://api.example.com/v1?api_key=[REDACTED:generic-secret]&q=1" }],
      [{ yaml: `client_secret: ${fake(B64URL, 30, 76)}` }, { yaml: "client_secret: [REDACTED:generic-secret]" }],
    ];
    for (const [input, want] of cases) {
      const red = scanner.redact(input);
      assert.deepEqual(red.value, want, JSON.stringify(input));
      assert.deepEqual(kinds(red.findings), ["generic-secret"]);
      assertNoLeak(red.findings, pw);
    }
  });
});

describe("configured secret values", () => {
  const DB = "p@ss/w0rd" + '"quoted\\back' + " sp";
  const TOKEN = "Zq8" + "vR2mT6xK4wN9";
  const configured = compileSecretScanner({
    values: [
      { name: "DB_PASSWORD", value: DB },
      { name: "API_TOKEN", value: TOKEN },
      { name: "TOO_SHORT", value: "abc1234" },
      { name: "EMPTY", value: "" },
      { name: "ACCOUNT", value: "48213377" },
    ],
  });

  test("values shorter than 8 characters are ignored and named in rejectedValues", () => {
    assert.deepEqual(configured.rejectedValues, ["TOO_SHORT", "EMPTY"]);
    assert.deepEqual(configured.scan({ a: "abc1234", b: "x abc1234 y" }), []);
  });

  const encodings: Array<[string, (v: string) => string]> = [
    ["verbatim", (v) => v],
    ["JSON-escaped", (v) => JSON.stringify(v).slice(1, -1)],
    ["JSON-escaped twice", (v) => JSON.stringify(JSON.stringify(v)).slice(1, -1)],
    ["\\u-escaped (ensure_ascii style, every character)", (v) => [...v].map((c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")).join("")],
    ["percent-encoded (encodeURIComponent)", encodeURIComponent],
    ["percent-encoded, every byte, lower-case hex", (v) => [...Buffer.from(v)].map((b) => "%" + b.toString(16).padStart(2, "0")).join("")],
    ["form-encoded", (v) => new URLSearchParams({ v }).toString().slice(2)],
    ["HTML-escaped", (v) => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;")],
    ["base64", (v) => Buffer.from(v).toString("base64")],
    ["base64url", (v) => Buffer.from(v).toString("base64url")],
    ["base64 at byte offset 1", (v) => Buffer.from("x" + v + "tail").toString("base64")],
    ["base64 at byte offset 2", (v) => Buffer.from("xy" + v + "tail").toString("base64")],
    ["hex", (v) => Buffer.from(v).toString("hex")],
  ];
  for (const [name, encode] of encodings) {
    for (const [secretName, value] of [["DB_PASSWORD", DB], ["API_TOKEN", TOKEN]] as const) {
      test(`${secretName}, ${name}, inside a longer string`, () => {
        const encoded = encode(value);
        const args = { outer: { list: [`before ${encoded} after`] } };
        const findings = configured.scan(args, "arguments");
        assert.deepEqual(findings.map(({ path, kind }) => ({ path, kind })), [{ path: "arguments.outer.list[0]", kind: `configured:${secretName}` }], encoded);
        assertNoLeak(findings, value);
        assertNoLeak(findings, encoded);
        const red = configured.redact(args).value as { outer: { list: string[] } };
        const text = red.outer.list[0]!;
        assert.ok(text.startsWith("before ") || name.startsWith("base64 at"), text);
        assert.ok(text.includes(`[REDACTED:configured:${secretName}]`), text);
        assert.ok(!text.includes(encoded.slice(4, -4)), "the encoded value survived redaction");
      });
    }
  }

  test("the verbatim value is redacted exactly, leaving the rest", () => {
    assert.deepEqual(configured.redact({ cmd: `curl -H 'X-Token: ${TOKEN}' https://x` }).value, { cmd: "curl -H 'X-Token: [REDACTED:configured:API_TOKEN]' https://x" });
  });

  test("a value in a property name is reported with the name redacted in the path", () => {
    const findings = configured.scan({ [`k_${TOKEN}`]: 1 }, "arguments");
    assert.deepEqual(findings, [
      { path: 'arguments["k_[REDACTED:configured:API_TOKEN]"]', kind: "configured:API_TOKEN", description: "value of the configured secret API_TOKEN, in a property name" },
    ]);
    assertNoLeak(findings, TOKEN);
    // Two keys that redact alike (the value verbatim, and hex-encoded) both survive.
    const red = configured.redact({ [`k_${TOKEN}`]: 1, [`k_${Buffer.from(TOKEN).toString("hex")}`]: 2 }).value;
    assert.deepEqual(red, { "k_[REDACTED:configured:API_TOKEN]": 1, "k_[REDACTED:configured:API_TOKEN]#2": 2 });
  });

  test("a numeric secret sent as a JSON number", () => {
    assert.deepEqual(kinds(configured.scan({ account: 48213377 })), ["configured:ACCOUNT"]);
    assert.deepEqual(configured.redact({ account: 48213377, n: 5 }).value, { account: "[REDACTED:configured:ACCOUNT]", n: 5 });
  });

  test("formats: false finds configured values only", () => {
    const only = compileSecretScanner({ values: [{ name: "API_TOKEN", value: TOKEN }], formats: false });
    const gh = "gh" + "p_" + fake(B62, 36, 80);
    assert.deepEqual(kinds(only.scan({ a: gh, b: TOKEN })), ["configured:API_TOKEN"]);
    assert.deepEqual(kinds(scanner.scan({ a: gh })), ["github-token"]);
  });
});

describe("benign near-misses are not flagged", () => {
  const benign: Array<[string, unknown]> = [
    ["UUIDs", { id: "123e4567-e89b-12d3-a456-426614174000", request_id: "f47ac10b-58cc-4372-a567-0e02b2c3d479" }],
    ["git SHAs", { commit: "da39a3ee5e6b4b0d3255bfef95601890afd80709", msg: "fix: bump 3f786850e387550fdab836ed7e6dc881de23001b" }],
    ["a PNG data URL", { image: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" }],
    ["sk- inside ordinary words", { text: "ask-me-anything task-force risk-free desk-lamp whisk-ready sk-learn sk-" }],
    ["the word password in prose", { text: "Please enter your password: it must be at least twelve characters. Forgot password? Reset it." }],
    ["a JWT-looking string whose header is not JSON", { t: "ey" + "Jub3QganNvbiBhdCBhbGw." + b64url('{"sub":"1"}') + "." + fake(B64URL, 20, 90) }],
    ["a JWT-looking string whose header has no alg", { t: b64url('{"typ":"JWT"}') + "." + b64url('{"sub":"1"}') + "." + fake(B64URL, 20, 91) }],
    ["placeholder tokens", { a: "gh" + "p_" + "x".repeat(36), b: "AK" + "IA" + "X".repeat(16), c: "sk" + "_live_" + "your_key_here_0000000000", d: "xo" + "xb-your-token-here" }],
    ["a URL with a user but no password", { u: "postgres://user@localhost:5432/db", v: "https://example.com:8080/path@x" }],
    ["a URL with a placeholder password", { u: "postgres://user:password@localhost/db", v: "mysql://root:${DB_PASSWORD}@db/app", w: "redis://:****@cache" }],
    ["code that reads a secret from elsewhere", { code: "const password = process.env.DB_PASSWORD;\nconst token = await getToken();\napiKey: config.apiKey,\npassword=$PASSWORD" }],
    ["secret-sounding names with ordinary values", { max_tokens: 4096, pageToken: "CiAKGjBpNDd2Nmp2Zml2cXRjbmEzcHkyNmRnZjN4NBAB", token_type: "Bearer", tokenizer: "cl100k_base", password_hint: "first pet", author: "Johnathan1234" }],
    ["a secret name with a path value", { password_file: "/run/secrets/db_password", secret: "projects/p/secrets/db/versions/latest" }],
    ["a long hex digest", { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }],
    ["the word Bearer and Basic in prose", { text: "Basic authentication is weak. The bearer of this letter is trusted." }],
  ];
  for (const [name, value] of benign) {
    test(name, () => assert.deepEqual(scanner.scan(value), []));
  }

  test("isSecretName: names that announce secrets, and those that do not", () => {
    for (const yes of ["password", "db_password", "adminPassword", "apiKey", "X-Api-Key", "client_secret", "AUTH_TOKEN", "privateKey", "passphrase", "credentials"]) assert.ok(isSecretName(yes), yes);
    for (const no of ["max_tokens", "pageToken", "token_count", "keyboard", "author", "monkey", "password_hint", "secret_name", "tokenizer", "next_page_token"]) assert.ok(!isSecretName(no), no);
  });
});

describe("walk, bounds and redaction", () => {
  test("deeper than the depth limit is unscannable, and its subtree is redacted whole", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 100; i++) deep = [deep];
    const findings = scanner.scan({ deep });
    assert.deepEqual(kinds(findings), ["unscannable"]);
    const red = JSON.stringify(scanner.redact({ deep }).value);
    assert.ok(red.includes("[REDACTED:unscannable]"));
  });

  test("more values or characters than the limits allow is unscannable (reported once)", () => {
    const small = compileSecretScanner({ limits: { maxNodes: 50, maxChars: 1000 } });
    assert.deepEqual(kinds(small.scan({ list: Array.from({ length: 100 }, (_, i) => i) })), ["unscannable"]);
    assert.deepEqual(kinds(small.scan({ text: "a".repeat(2000) })), ["unscannable"]);
    assert.deepEqual(small.scan({ text: "a".repeat(500) }), []);
    const red = small.redact({ keep: "short", big: "b".repeat(2000), after: "also gone" });
    // Past the budget even property names are unscanned, so they are replaced too.
    assert.deepEqual(red.value, { keep: "short", big: "[REDACTED:unscannable]", "[REDACTED:unscannable]": "[REDACTED:unscannable]" });
    assert.deepEqual(kinds(red.findings), ["unscannable"]);
  });

  test("a circular value is unscannable", () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    assert.deepEqual(kinds(scanner.scan(a)), ["unscannable"]);
  });

  test("redaction never mutates its input, keeps __proto__ a plain key, and applies toJSON", () => {
    const gh = "gh" + "p_" + fake(B62, 36, 100);
    const input = JSON.parse(`{"__proto__": {"t": "${gh}"}, "when": "x"}`) as object;
    const snapshot = JSON.stringify(input);
    const red = scanner.redact(input).value as object;
    assert.equal(JSON.stringify(input), snapshot);
    assert.equal(JSON.stringify(red), '{"__proto__":{"t":"[REDACTED:github-token]"},"when":"x"}');
    assert.equal(Object.getPrototypeOf(red), Object.prototype);
    assert.deepEqual(scanner.redact({ d: new Date("2031-02-03T04:05:06.000Z") }).value, { d: "2031-02-03T04:05:06.000Z" });
  });

  test("two secrets in one string, and the same string scanned twice, give the same findings", () => {
    const a = "gh" + "p_" + fake(B62, 36, 101);
    const b = "AK" + "IA" + fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 102);
    const text = `first ${a}, second ${b}.`;
    assert.equal(scanner.redact(text).value, "first [REDACTED:github-token], second [REDACTED:aws-access-key-id].");
    assert.deepEqual(scanner.scan(text), scanner.scan(text));
  });
});
