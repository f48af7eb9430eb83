// Kubernetes manifests for mcp-warden from its values (pure: no I/O). Every pod carries the same
// hardening (non-root uid 1000, RuntimeDefault seccomp, no privilege escalation, read-only root,
// every capability dropped, no service-account token), and a default-deny NetworkPolicy covers
// every pod of the release before the narrow allowances below it.
import { isIP } from "node:net";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { IService } from "kubernetes-models/v1/Service";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyEgressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import { KubernetesValues, type EgressTarget, type Upstream } from "./kubernetes-values.js";

// Typed with Kubernetes' own API types (kubernetes-models, types only: nothing of it at run time), so
// a misspelt or misplaced field is a compile error; the unit test validates the values at run time.
export type Manifest = IConfigMap | IService | IDeployment | IPodDisruptionBudget | IHorizontalPodAutoscaler | INetworkPolicy;

/** A values problem the user must fix; the message says how. */
export class DeployValuesError extends Error {
  override name = "DeployValuesError";
}

const GATEWAY_PORT = 8787;

export function podSecurityContext(runAsUser = 1000): IPodSecurityContext {
  return { runAsNonRoot: true, runAsUser, runAsGroup: runAsUser, fsGroup: runAsUser, seccompProfile: { type: "RuntimeDefault" } };
}

export function containerSecurityContext(runAsUser = 1000): ISecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser,
    runAsGroup: runAsUser,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

function labels(v: KubernetesValues, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": "mcp-warden", "app.kubernetes.io/instance": v.name, "app.kubernetes.io/component": component };
}

function envVars(plain: Array<{ name: string; value: string }>, secret: Array<{ name: string; secretName: string; key: string }>): IEnvVar[] {
  return [...plain.map((e) => ({ name: e.name, value: e.value })), ...secret.map((e) => ({ name: e.name, valueFrom: { secretKeyRef: { name: e.secretName, key: e.key } } }))];
}

/** "10.0.0.0/8:5432", "192.0.2.7:443" or "[2001:db8::/32]:443" as a NetworkPolicy egress rule; a host name is refused. */
export function egressRule(target: EgressTarget, what: string): INetworkPolicyEgressRule {
  if (typeof target !== "string") {
    const peer: INetworkPolicyPeer = {};
    if (target.cidr !== undefined) peer.ipBlock = { cidr: cidrOf(target.cidr, what) };
    if (target.podSelector !== undefined) peer.podSelector = { matchLabels: target.podSelector };
    if (target.namespaceSelector !== undefined) peer.namespaceSelector = { matchLabels: target.namespaceSelector };
    if (Object.keys(peer).length === 0) throw new DeployValuesError(`${what}: give cidr, podSelector or namespaceSelector with the ports`);
    return { to: [peer], ports: target.ports.map((port) => ({ protocol: target.protocol ?? "TCP", port })) };
  }
  // A bare address or range (IPv6 included) opens every port of it; ADDRESS:PORT one port.
  if (isAddressOrRange(target)) return { to: [{ ipBlock: { cidr: cidrOf(target, what) } }] };
  const m = /^(?:\[([^\]]+)\]|([^\s:]+)):(\d{1,5})$/.exec(target);
  // Neither form: a host name (or garbage) gets the message about names and addresses.
  if (!m) cidrOf(target, what);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new DeployValuesError(`${what}: '${target}' is not ADDRESS[:PORT]; write e.g. 10.0.0.0/8:5432, 192.0.2.7:443 or 10.20.0.0/16`);
  return { to: [{ ipBlock: { cidr: cidrOf((m[1] ?? m[2])!, what) } }], ports: [{ protocol: "TCP", port }] };
}

function isAddressOrRange(text: string): boolean {
  const [ip, bits, ...rest] = text.split("/");
  return isIP(ip ?? "") !== 0 && rest.length === 0 && (bits === undefined || /^\d{1,3}$/.test(bits));
}

function cidrOf(address: string, what: string): string {
  const [ip, bits, ...rest] = address.split("/");
  const family = isIP(ip ?? "");
  const max = family === 6 ? 128 : 32;
  const valid = family !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
  if (!valid) {
    throw new DeployValuesError(
      `${what}: '${address}' is not an IP address or CIDR. A NetworkPolicy matches addresses, not host names: resolve the host to its address ranges (e.g. 140.82.112.0/20), or use a CNI with DNS-aware policies and leave it out here`,
    );
  }
  return bits === undefined ? `${ip}/${max}` : address;
}

const DNS_RULE: INetworkPolicyEgressRule = {
  to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

function gatewayObjects(v: KubernetesValues): Manifest[] {
  const l = labels(v, "gateway");
  const selector = { "app.kubernetes.io/instance": v.name, "app.kubernetes.io/component": "gateway" };
  const configMap: IConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${v.name}-settings`, labels: l }, data: { "settings.json": JSON.stringify(v.settings, null, 2) + "\n" } };
  const probe = (path: string, periodSeconds: number) => ({ httpGet: { path, port: "http" }, periodSeconds, timeoutSeconds: 5, failureThreshold: 3 });
  const deployment: IDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: v.name, labels: l },
    spec: {
      replicas: v.autoscaling.enabled ? v.autoscaling.minReplicas : v.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: l },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          containers: [
            {
              name: "gateway",
              image: `${v.image.repository}:${v.image.tag}`,
              imagePullPolicy: v.image.pullPolicy,
              args: ["serve", "--listen", `0.0.0.0:${GATEWAY_PORT}`, "--settings", "/config/settings.json"],
              ports: [{ name: "http", containerPort: GATEWAY_PORT, protocol: "TCP" }],
              env: envVars(v.env, v.secretEnv),
              resources: v.resources,
              securityContext: containerSecurityContext(),
              startupProbe: { ...probe("/healthz", 2), failureThreshold: 30 },
              livenessProbe: probe("/healthz", 10),
              readinessProbe: probe("/readyz", 5),
              volumeMounts: [
                { name: "settings", mountPath: "/config", readOnly: true },
                { name: "state", mountPath: "/var/lib/mcp-warden" },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "settings", configMap: { name: `${v.name}-settings` } },
            { name: "state", emptyDir: { sizeLimit: v.stateSizeLimit } },
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
  const service: IService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: v.name, labels: l },
    spec: { type: v.service.type, sessionAffinity: v.service.sessionAffinity, selector, ports: [{ name: "http", port: v.service.port, targetPort: "http", protocol: "TCP" }] },
  };
  const pdb: IPodDisruptionBudget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: v.name, labels: l }, spec: { minAvailable: v.podDisruptionBudget.minAvailable, selector: { matchLabels: selector } } };
  const out: Manifest[] = [configMap, deployment, service, pdb];
  if (v.autoscaling.enabled) {
    if (v.autoscaling.maxReplicas < v.autoscaling.minReplicas) throw new DeployValuesError(`autoscaling.maxReplicas (${v.autoscaling.maxReplicas}) is below minReplicas (${v.autoscaling.minReplicas}): raise maxReplicas`);
    out.push({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: v.name, labels: l },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: v.name },
        minReplicas: v.autoscaling.minReplicas,
        maxReplicas: v.autoscaling.maxReplicas,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: v.autoscaling.targetCPUUtilizationPercentage } } }],
      },
    });
  }
  const e = v.networkPolicy.egress;
  const egress: INetworkPolicyEgressRule[] = [
    ...(v.networkPolicy.allowDns ? [DNS_RULE] : []),
    ...e.idp.map((t, i) => egressRule(t, `networkPolicy.egress.idp[${i}]`)),
    ...e.redis.map((t, i) => egressRule(t, `networkPolicy.egress.redis[${i}]`)),
    ...e.postgres.map((t, i) => egressRule(t, `networkPolicy.egress.postgres[${i}]`)),
    ...e.upstreams.map((t, i) => egressRule(t, `networkPolicy.egress.upstreams[${i}]`)),
    // The upstream servers this chart runs: their pods, their port.
    ...v.upstreams.map((u): INetworkPolicyEgressRule => ({ to: [{ podSelector: { matchLabels: upstreamSelector(v, u) } }], ports: [{ protocol: "TCP", port: u.port }] })),
  ];
  const from = v.networkPolicy.ingressFrom.map((p): INetworkPolicyPeer => ({
    ...(p.podSelector ? { podSelector: { matchLabels: p.podSelector } } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: { matchLabels: p.namespaceSelector } } : {}),
    ...(p.cidr ? { ipBlock: { cidr: cidrOf(p.cidr, "networkPolicy.ingressFrom") } } : {}),
  }));
  const policy: INetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `${v.name}-gateway`, labels: l },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ ...(from.length > 0 ? { from } : {}), ports: [{ protocol: "TCP", port: GATEWAY_PORT }] }],
      egress,
    },
  };
  return [...out, policy];
}

function upstreamSelector(v: KubernetesValues, u: Upstream): Record<string, string> {
  return { "app.kubernetes.io/instance": v.name, "app.kubernetes.io/component": `upstream-${u.name}` };
}

/**
 * Where an upstream may connect: its `allowNetwork` in values, else the network lists of the settings
 * server of the same name (`sandbox.allowNetwork`, `sandbox.network.allowedDomains`), which is how a
 * remote server's sandbox gets enforced once the release runs it. Both at once is ambiguous, and a
 * deny list inside the allowed ranges cannot be a NetworkPolicy: both refused.
 */
function upstreamEgress(v: KubernetesValues, u: Upstream): { targets: EgressTarget[]; from: string } {
  const server = (v.settings.mcpServers as Record<string, { sandbox?: Record<string, unknown> }> | undefined)?.[u.name];
  const sandbox = server?.sandbox;
  const network = sandbox?.network as { allowedDomains?: string[]; deniedDomains?: string[] } | undefined;
  const fromSettings = [...((sandbox?.allowNetwork as string[] | undefined) ?? []), ...(network?.allowedDomains ?? [])];
  const where = `settings.mcpServers.${u.name}.sandbox`;
  if (u.allowNetwork !== undefined) {
    if (fromSettings.length > 0) throw new DeployValuesError(`upstreams.${u.name}.allowNetwork and ${where} both list where it may connect: keep one (remove allowNetwork to use the settings' lists)`);
    return { targets: u.allowNetwork, from: `upstreams.${u.name}.allowNetwork` };
  }
  if (((sandbox?.denyNetwork as string[] | undefined) ?? []).length > 0 || (network?.deniedDomains ?? []).length > 0) {
    throw new DeployValuesError(`${where} has a deny list, which a NetworkPolicy over its allowed ranges cannot enforce: narrow the allowed ranges instead and remove the deny list, or set upstreams.${u.name}.allowNetwork`);
  }
  return { targets: fromSettings, from: `${where} network lists` };
}

function upstreamObjects(v: KubernetesValues, u: Upstream): Manifest[] {
  const name = `${v.name}-${u.name}`;
  const allowed = upstreamEgress(v, u);
  const l = { ...labels(v, `upstream-${u.name}`) };
  const selector = upstreamSelector(v, u);
  const deployment: IDeployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: l },
    spec: {
      replicas: u.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: l },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(u.runAsUser),
          containers: [
            {
              name: "server",
              image: u.image,
              ...(u.command ? { command: u.command } : {}),
              ...(u.args ? { args: u.args } : {}),
              ports: [{ name: "mcp", containerPort: u.port, protocol: "TCP" }],
              env: envVars(u.env, u.secretEnv),
              resources: u.resources,
              securityContext: containerSecurityContext(u.runAsUser),
              readinessProbe: { tcpSocket: { port: "mcp" }, periodSeconds: 5 },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } }],
        },
      },
    },
  };
  const service: IService = { apiVersion: "v1", kind: "Service", metadata: { name, labels: l }, spec: { type: "ClusterIP", selector, ports: [{ name: "mcp", port: u.port, targetPort: "mcp", protocol: "TCP" }] } };
  const policy: INetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, labels: l },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress", "Egress"],
      // Only the gateway reaches it: every call goes through policy and audit.
      ingress: [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/instance": v.name, "app.kubernetes.io/component": "gateway" } } }], ports: [{ protocol: "TCP", port: u.port }] }],
      egress: [...(v.networkPolicy.allowDns && allowed.targets.length > 0 ? [DNS_RULE] : []), ...allowed.targets.map((t, i) => egressRule(t, `${allowed.from}[${i}]`))],
    },
  };
  return [deployment, service, policy];
}

/** Every object of a release, from values (defaults filled in, unknown fields refused). */
export function kubernetesManifests(input: unknown): Manifest[] {
  const parsed = KubernetesValues.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DeployValuesError(`values: ${issue.path.join(".") || "(top)"}: ${issue.message}; see deploy/helm/mcp-warden/values.yaml for the fields`);
  }
  const v = parsed.data;
  const names = new Set<string>();
  for (const u of v.upstreams) {
    if (names.has(u.name)) throw new DeployValuesError(`upstreams: '${u.name}' appears twice; give each upstream its own name`);
    names.add(u.name);
  }
  // Deny everything for every pod of the release first; the policies above allow the narrow rest.
  const denyAll: INetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `${v.name}-default-deny`, labels: labels(v, "network") },
    spec: { podSelector: { matchLabels: { "app.kubernetes.io/instance": v.name } }, policyTypes: ["Ingress", "Egress"] },
  };
  return [denyAll, ...gatewayObjects(v), ...v.upstreams.flatMap((u) => upstreamObjects(v, u))];
}
