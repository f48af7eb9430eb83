// The values of the Kubernetes manifests (and of deploy/helm/mcp-warden/values.yaml, which must equal
// DEFAULT_VALUES: a unit test checks). Strict: an unknown or misspelt field is an error, not ignored.
import { z } from "zod";

const Quantity = z.union([z.string().min(1), z.number()]);
const Resources = z.strictObject({
  requests: z.record(z.string(), Quantity).optional(),
  limits: z.record(z.string(), Quantity).optional(),
});

/** An environment variable from a Kubernetes Secret (secretKeyRef): the value never sits in values or a ConfigMap. */
const SecretEnv = z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), secretName: z.string().min(1), key: z.string().min(1) });
const PlainEnv = z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), value: z.string() });

/**
 * Where a pod may connect: "CIDR:PORT" / "IP:PORT" / "CIDR" (every port; NetworkPolicy matches addresses, not names), or
 * in-cluster pods by label, with their ports.
 */
export const EgressTarget = z.union([
  z.string().min(1),
  z.strictObject({
    podSelector: z.record(z.string(), z.string()).optional(),
    namespaceSelector: z.record(z.string(), z.string()).optional(),
    cidr: z.string().optional(),
    ports: z.array(z.number().int().min(1).max(65535)).min(1),
    protocol: z.enum(["TCP", "UDP"]).optional(),
  }),
]);
export type EgressTarget = z.infer<typeof EgressTarget>;

const Name = z.string().regex(/^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/, "a DNS label: lower-case letters, digits and '-', at most 42 characters");

/** An upstream MCP server the chart runs as its own Deployment, reachable only from the gateway. */
const Upstream = z.strictObject({
  name: Name,
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  /** The port its Streamable HTTP endpoint listens on. */
  port: z.number().int().min(1).max(65535),
  env: z.array(PlainEnv).default([]),
  secretEnv: z.array(SecretEnv).default([]),
  /**
   * The only addresses it may reach ("CIDR:PORT", or "CIDR" for every port). Unset: the network lists
   * of the settings server of the same name (settings.mcpServers.NAME.sandbox), else nothing.
   */
  allowNetwork: z.array(EgressTarget).optional(),
  runAsUser: z.number().int().min(1).default(1000),
  resources: Resources.default({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } }),
  replicas: z.number().int().min(1).default(1),
});
export type Upstream = z.infer<typeof Upstream>;

export const KubernetesValues = z.strictObject({
  /** Prefix of every object's name, and the app.kubernetes.io/instance label. */
  name: Name.default("mcp-warden"),
  image: z
    .strictObject({ repository: z.string().min(1), tag: z.string().min(1), pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]) })
    .default({ repository: "mcp-warden", tag: "0.1.0", pullPolicy: "IfNotPresent" }),
  /** Replicas when autoscaling is off (with it on, the HPA's minReplicas). */
  replicas: z.number().int().min(1).default(2),
  resources: Resources.default({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } }),
  service: z
    .strictObject({ type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]), port: z.number().int().min(1).max(65535), sessionAffinity: z.enum(["None", "ClientIP"]) })
    .default({ type: "ClusterIP", port: 8787, sessionAffinity: "ClientIP" }),
  autoscaling: z
    .strictObject({ enabled: z.boolean(), minReplicas: z.number().int().min(1), maxReplicas: z.number().int().min(1), targetCPUUtilizationPercentage: z.number().int().min(1).max(100) })
    .default({ enabled: true, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 }),
  podDisruptionBudget: z.strictObject({ minAvailable: z.number().int().min(0) }).default({ minAvailable: 1 }),
  /** The gateway's settings (settings.json), served from a ConfigMap at /config/settings.json. */
  settings: z.record(z.string(), z.unknown()).default({}),
  env: z.array(PlainEnv).default([]),
  secretEnv: z.array(SecretEnv).default([]),
  /** Size of the per-pod state directory (emptyDir: audit files, pins; shared state belongs in PostgreSQL and Redis). */
  stateSizeLimit: z.string().default("1Gi"),
  networkPolicy: z
    .strictObject({
      /** Who may reach the gateway's port: pods/namespaces by label; empty means any source. */
      ingressFrom: z.array(z.strictObject({ podSelector: z.record(z.string(), z.string()).optional(), namespaceSelector: z.record(z.string(), z.string()).optional(), cidr: z.string().optional() })).default([]),
      /** Let pods resolve names through the cluster DNS (kube-system's kube-dns, port 53). */
      allowDns: z.boolean().default(true),
      egress: z
        .strictObject({
          idp: z.array(EgressTarget).default([]),
          redis: z.array(EgressTarget).default([]),
          postgres: z.array(EgressTarget).default([]),
          /** Upstream MCP servers outside this chart. */
          upstreams: z.array(EgressTarget).default([]),
        })
        .default({ idp: [], redis: [], postgres: [], upstreams: [] }),
    })
    .default({ ingressFrom: [], allowDns: true, egress: { idp: [], redis: [], postgres: [], upstreams: [] } }),
  upstreams: z.array(Upstream).default([]),
});
export type KubernetesValues = z.infer<typeof KubernetesValues>;

/** The defaults, exactly as deploy/helm/mcp-warden/values.yaml states them. */
export const DEFAULT_VALUES: KubernetesValues = KubernetesValues.parse({});
