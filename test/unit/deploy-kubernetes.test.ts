// The Kubernetes manifests (`mcp-warden deploy kubernetes`, deploy/helm/mcp-warden): rendered from the
// chart's default values and from its full example, parsed back from YAML, validated against
// Kubernetes' schemas (kubernetes-models), and held to the hardening every pod must have. No cluster
// runs here: these are the checks that can run without one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ROOT } from "../e2e/harness.js";
import { DEFAULT_VALUES } from "../../src/deploy/kubernetes-values.js";
import { DeployValuesError, kubernetesManifests } from "../../src/deploy/kubernetes.js";
import { deployKubernetesCommand, manifestsYaml } from "../../src/cli/deploy.js";
import { Settings } from "../../src/settings/schema.js";

const CHART = join(ROOT, "deploy/helm/mcp-warden");
const defaults = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as unknown;
const example = parse(readFileSync(join(CHART, "values-example.yaml"), "utf8")) as { settings: unknown };

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

/** The kubernetes-models class for each apiVersion/kind the release may contain. */
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

/** Renders through the CLI's code path (a values file in, YAML text out) and reads the YAML back, as kubectl would. */
function render(values: unknown): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), "warden-values-"));
  let out = "";
  let err = "";
  try {
    const file = join(dir, "values.json"); // JSON is YAML
    writeFileSync(file, JSON.stringify(values));
    const code = deployKubernetesCommand({ values: [file] }, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
    assert.equal(code, 0, err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const docs = parseAllDocuments(out);
  assert.ok(Array.isArray(docs));
  return docs.map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Obj;
  });
}

const renders = { defaults: render(defaults), example: render(example) };

test("the chart's values.yaml states exactly the generator's defaults", () => {
  assert.deepEqual(defaults, DEFAULT_VALUES);
});

test("the chart's rendered/manifests.yaml is the default values rendered (re-render after changing the generator)", () => {
  const committed = readFileSync(join(CHART, "rendered/manifests.yaml"), "utf8");
  assert.equal(committed, manifestsYaml(kubernetesManifests(defaults)), "run: node dist/src/cli.cjs deploy kubernetes --values deploy/helm/mcp-warden/values.yaml > deploy/helm/mcp-warden/rendered/manifests.yaml");
});

test("the example's settings are valid mcp-warden settings", () => {
  const r = Settings.safeParse(example.settings);
  assert.ok(r.success, r.success ? "" : JSON.stringify(r.error.issues.slice(0, 3)));
});

for (const [name, objects] of Object.entries(renders)) {
  test(`${name}: every rendered object validates against Kubernetes' schema for its kind`, () => {
    assert.ok(objects.length >= 7);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(Model, `${o.apiVersion} ${o.kind} has no schema here`);
      assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
    }
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(names).size, names.length, "two objects share a kind and name");
  });

  test(`${name}: every pod and container is hardened (non-root 1000-style uid, RuntimeDefault seccomp, no escalation, read-only root, no capabilities, no service-account token)`, () => {
    const deployments = objects.filter((o) => o.kind === "Deployment");
    assert.ok(deployments.length >= 1);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const where = `Deployment ${d.metadata.name}`;
      assert.equal(pod.automountServiceAccountToken, false, where);
      assert.equal(pod.securityContext.runAsNonRoot, true, where);
      assert.ok(Number.isInteger(pod.securityContext.runAsUser) && pod.securityContext.runAsUser > 0, where);
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser, where);
      assert.equal(pod.securityContext.seccompProfile?.type, "RuntimeDefault", where);
      assert.equal(pod.hostNetwork ?? false, false, where);
      assert.equal(pod.hostPID ?? false, false, where);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext;
        const at = `${where} container ${c.name}`;
        assert.equal(sc.allowPrivilegeEscalation, false, at);
        assert.equal(sc.readOnlyRootFilesystem, true, at);
        assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, at);
        assert.equal(sc.runAsNonRoot, true, at);
        assert.equal(sc.privileged, false, at);
        assert.equal(sc.seccompProfile?.type, "RuntimeDefault", at);
        assert.ok(c.resources?.limits?.memory && c.resources?.limits?.cpu && c.resources?.requests, `${at}: resources`);
        for (const e of c.env ?? []) assert.ok(e.valueFrom?.secretKeyRef || !/secret|token|password|key/i.test(e.name), `${at}: ${e.name} looks like a secret but is not from a Secret`);
      }
    }
    if (name === "defaults") assert.equal(deployments[0]!.spec.template.spec.securityContext.runAsUser, 1000);
  });

  test(`${name}: a default-deny NetworkPolicy covers every pod, and each Deployment has its own policy with Ingress and Egress`, () => {
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    const deny = policies.find((p) => p.metadata.name.endsWith("-default-deny"));
    assert.ok(deny);
    assert.deepEqual(deny.spec.policyTypes, ["Ingress", "Egress"]);
    assert.equal(deny.spec.ingress, undefined);
    assert.equal(deny.spec.egress, undefined);
    const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const d of objects.filter((o) => o.kind === "Deployment")) {
      const podLabels = d.spec.template.metadata.labels as Record<string, string>;
      assert.ok(matches(deny.spec.podSelector.matchLabels, podLabels), `default deny misses ${d.metadata.name}`);
      const own: Obj[] = policies.filter((p) => p !== deny && matches(p.spec.podSelector.matchLabels, podLabels));
      assert.equal(own.length, 1, `${d.metadata.name} has ${own.length} policies`);
      assert.deepEqual(own[0]!.spec.policyTypes, ["Ingress", "Egress"]);
    }
  });
}

test("example: the gateway may reach only DNS, the IdP, Redis, PostgreSQL and its upstreams; each upstream only its allowNetwork and only from the gateway", () => {
  const objects = renders.example;
  const policy = (n: string) => objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === n)!;
  const gateway = policy("warden-gateway");
  const egress = gateway.spec.egress as Array<{ to: any[]; ports: Array<{ port: number; protocol: string }> }>;
  const summary = egress.map((r) => `${JSON.stringify(r.to[0])}:${r.ports.map((p) => `${p.protocol}/${p.port}`).join(",")}`);
  assert.deepEqual(summary, [
    `{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}},"podSelector":{"matchLabels":{"k8s-app":"kube-dns"}}}:UDP/53,TCP/53`,
    `{"ipBlock":{"cidr":"203.0.113.20/32"}}:TCP/443`,
    `{"podSelector":{"matchLabels":{"app":"redis"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"data"}}}:TCP/6379`,
    `{"podSelector":{"matchLabels":{"app":"postgres"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"data"}}}:TCP/5432`,
    `{"ipBlock":{"cidr":"198.51.100.0/24"}}:TCP/443`,
    `{"podSelector":{"matchLabels":{"app.kubernetes.io/instance":"warden","app.kubernetes.io/component":"upstream-github"}}}:TCP/8080`,
    `{"podSelector":{"matchLabels":{"app.kubernetes.io/instance":"warden","app.kubernetes.io/component":"upstream-search"}}}:TCP/3000`,
  ]);
  assert.deepEqual(gateway.spec.ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }], ports: [{ protocol: "TCP", port: 8787 }] }]);
  const github = policy("warden-github");
  assert.deepEqual(github.spec.ingress[0].from, [{ podSelector: { matchLabels: { "app.kubernetes.io/instance": "warden", "app.kubernetes.io/component": "gateway" } } }]);
  assert.deepEqual(
    github.spec.egress.slice(1).map((r: any) => r.to[0].ipBlock.cidr),
    ["140.82.112.0/20", "192.30.252.0/22"],
  );
  const secretRef = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "warden-github")!.spec.template.spec.containers[0].env[0];
  assert.deepEqual(secretRef, { name: "GITHUB_TOKEN", valueFrom: { secretKeyRef: { name: "warden-github", key: "token" } } });
  // search's allowNetwork comes from its settings entry's sandbox network list: that range, every port.
  assert.deepEqual(policy("warden-search").spec.egress.slice(1), [{ to: [{ ipBlock: { cidr: "10.40.0.0/16" } }] }]);
  const search = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "warden-search")!;
  assert.equal(search.spec.template.spec.securityContext.runAsUser, 10001);
  // An upstream with no allowNetwork reaches nothing at all (not even DNS).
  const isolated = kubernetesManifests({ upstreams: [{ name: "calc", image: "calc:1", port: 9000 }] }).find((o) => o.metadata?.name === "mcp-warden-calc" && o.kind === "NetworkPolicy") as Obj;
  assert.deepEqual(isolated.spec.egress, []);
});

test("the settings ConfigMap holds values.settings as settings.json, mounted read-only at /config where serve reads it", () => {
  const cm = renders.example.find((o) => o.kind === "ConfigMap")!;
  assert.deepEqual(JSON.parse(cm.data!["settings.json"]!), example.settings);
  const gw = renders.example.find((o) => o.kind === "Deployment" && o.metadata.name === "warden")!.spec.template.spec;
  assert.deepEqual(gw.containers[0].volumeMounts[0], { name: "settings", mountPath: "/config", readOnly: true });
  assert.deepEqual(gw.containers[0].args, ["serve", "--listen", "0.0.0.0:8787", "--settings", "/config/settings.json"]);
  assert.equal(gw.containers[0].readinessProbe.httpGet.path, "/readyz");
  assert.equal(gw.containers[0].livenessProbe.httpGet.path, "/healthz");
});

test("a host name where an address is needed, an unknown field and a duplicate upstream are refused with what to do", () => {
  assert.throws(() => kubernetesManifests({ networkPolicy: { egress: { idp: ["login.example.com:443"] } } }), (e: Error) => e instanceof DeployValuesError && /not an IP address or CIDR.*resolve the host/.test(e.message));
  assert.throws(() => kubernetesManifests({ upstreams: [{ name: "a", image: "a:1", port: 1, allowNetwork: ["10.0.0.0/8:99999"] }] }), /not ADDRESS\[:PORT\]/);
  assert.throws(() => kubernetesManifests({ replica: 3 }), (e: Error) => e instanceof DeployValuesError && /replica/.test(e.message) && /values\.yaml/.test(e.message));
  assert.throws(() => kubernetesManifests({ upstreams: [{ name: "a", image: "a:1", port: 1 }, { name: "a", image: "b:1", port: 2 }] }), /appears twice/);
});

test("an upstream without allowNetwork takes its settings server's sandbox network lists; a host name there, both sources at once, or a deny list are refused", () => {
  const upstream = { name: "corp", image: "corp:1", port: 8080 };
  const withSandbox = (sandbox: unknown, extra: object = {}) => ({ settings: { mcpServers: { corp: { type: "http", url: "http://mcp-warden-corp:8080/mcp", sandbox } } }, upstreams: [{ ...upstream, ...extra }] });
  const policyOf = (values: unknown) => kubernetesManifests(values).find((o) => o.kind === "NetworkPolicy" && o.metadata?.name === "mcp-warden-corp") as Obj;
  assert.deepEqual(policyOf(withSandbox({ allowNetwork: ["192.0.2.10:443"], network: { allowedDomains: ["10.20.0.0/16"] } })).spec.egress.slice(1), [
    { to: [{ ipBlock: { cidr: "192.0.2.10/32" } }], ports: [{ protocol: "TCP", port: 443 }] },
    { to: [{ ipBlock: { cidr: "10.20.0.0/16" } }] },
  ]);
  assert.throws(() => policyOf(withSandbox({ network: { allowedDomains: ["api.corp.example"] } })), /settings\.mcpServers\.corp\.sandbox network lists\[0\].*not an IP address or CIDR/);
  assert.throws(() => policyOf(withSandbox({ network: { allowedDomains: ["10.20.0.0/16"] } }, { allowNetwork: ["10.0.0.1:80"] })), /both list where it may connect: keep one/);
  assert.throws(() => policyOf(withSandbox({ network: { allowedDomains: ["10.20.0.0/16"], deniedDomains: ["10.20.0.5"] } })), /deny list/);
});

test("the schema check is live: a wrong type in a rendered Deployment is caught", () => {
  const d = structuredClone(renders.defaults.find((o) => o.kind === "Deployment")!);
  d.spec.template.spec.securityContext.runAsUser = "1000";
  assert.throws(() => new Deployment(d as any).validate(), /runAsUser/);
});
