// What the client sees: every upstream's items under exposed names, and the way back from an
// exposed name (or a resource URI) to the upstream that owns it.
import { UriTemplate, type Prompt, type Resource, type ResourceTemplateType as ResourceTemplate, type Tool } from "@modelcontextprotocol/server";
import type { Upstream } from "../upstream/upstream.js";

export interface Naming {
  separator: string;
  /** false: one upstream, items exposed under their own names. */
  prefix: boolean;
}

export interface ItemRef {
  upstream: Upstream;
  /** The item's name on the upstream (tools, prompts) or the URI (resources). */
  name: string;
}

/** The listed item a request reaches through (a resource, or the template its URI matched). */
export interface ListedSource {
  source: { kind: "resources" | "resourceTemplates"; name: string; item: object };
}

export class Catalog {
  constructor(
    private readonly upstreams: ReadonlyMap<string, Upstream>,
    private readonly naming: Naming,
  ) {}

  exposedName(server: string, name: string): string {
    return this.naming.prefix ? `${server}${this.naming.separator}${name}` : name;
  }

  /** Server names never contain the separator, so the first occurrence splits unambiguously. */
  private split(exposed: string): ItemRef | undefined {
    if (!this.naming.prefix) {
      const only = this.upstreams.values().next().value as Upstream | undefined;
      return only ? { upstream: only, name: exposed } : undefined;
    }
    const at = exposed.indexOf(this.naming.separator);
    if (at <= 0) return undefined;
    const upstream = this.upstreams.get(exposed.slice(0, at));
    const name = exposed.slice(at + this.naming.separator.length);
    return upstream && name ? { upstream, name } : undefined;
  }

  /** The upstream and item name an exposed name points at, whether or not it offers that item now. */
  refOf(exposed: string): ItemRef | undefined {
    return this.split(exposed);
  }

  /** The upstream an exposed name points at, whether or not it offers that item now. */
  upstreamOf(exposed: string): Upstream | undefined {
    return this.split(exposed)?.upstream;
  }

  /** Resolves an exposed tool name to a tool the upstream currently offers. */
  findTool(exposed: string): (ItemRef & { tool: Tool }) | undefined {
    const ref = this.split(exposed);
    const tool = ref?.upstream.lists.tools.find((t) => t.name === ref.name);
    return ref && tool ? { ...ref, tool } : undefined;
  }

  findPrompt(exposed: string): (ItemRef & { prompt: Prompt }) | undefined {
    const ref = this.split(exposed);
    const prompt = ref?.upstream.lists.prompts.find((p) => p.name === ref.name);
    return ref && prompt ? { ...ref, prompt } : undefined;
  }

  /**
   * The server of a resource URI: a listed resource first, else exactly one matching template; with
   * the listed object it came from (for the integrity review's verdict on it).
   */
  findResource(uri: string): (ItemRef & ListedSource) | "ambiguous" | undefined {
    for (const upstream of this.upstreams.values()) {
      const resource = upstream.lists.resources.find((r) => r.uri === uri);
      if (resource) return { upstream, name: uri, source: { kind: "resources", name: uri, item: resource } };
    }
    const matches: { upstream: Upstream; template: ResourceTemplate }[] = [];
    for (const upstream of this.upstreams.values()) {
      const template = upstream.lists.resourceTemplates.find((t) => templateMatches(t.uriTemplate, uri));
      if (template) matches.push({ upstream, template });
    }
    if (matches.length > 1) return "ambiguous";
    const m = matches[0];
    return m ? { upstream: m.upstream, name: uri, source: { kind: "resourceTemplates", name: m.template.name, item: m.template } } : undefined;
  }

  findResourceTemplate(uriTemplate: string): (ItemRef & ListedSource) | undefined {
    for (const upstream of this.upstreams.values()) {
      const template = upstream.lists.resourceTemplates.find((t) => t.uriTemplate === uriTemplate);
      if (template) return { upstream, name: uriTemplate, source: { kind: "resourceTemplates", name: template.name, item: template } };
    }
    return undefined;
  }

  tools(visible: (upstream: Upstream, tool: Tool) => boolean): Tool[] {
    const out: Tool[] = [];
    for (const upstream of this.upstreams.values()) {
      for (const tool of upstream.lists.tools) {
        if (visible(upstream, tool)) out.push({ ...tool, name: this.exposedName(upstream.name, tool.name) });
      }
    }
    return out;
  }

  prompts(visible: (upstream: Upstream, prompt: Prompt) => boolean): Prompt[] {
    const out: Prompt[] = [];
    for (const upstream of this.upstreams.values()) {
      for (const p of upstream.lists.prompts) if (visible(upstream, p)) out.push({ ...p, name: this.exposedName(upstream.name, p.name) });
    }
    return out;
  }

  resources(visible: (upstream: Upstream, resource: Resource) => boolean): Resource[] {
    return [...this.upstreams.values()].flatMap((u) => u.lists.resources.filter((r) => visible(u, r)));
  }

  resourceTemplates(visible: (upstream: Upstream, template: ResourceTemplate) => boolean): ResourceTemplate[] {
    return [...this.upstreams.values()].flatMap((u) => u.lists.resourceTemplates.filter((t) => visible(u, t)));
  }
}

const templateCache = new Map<string, UriTemplate | null>();
function templateMatches(template: string, uri: string): boolean {
  let compiled = templateCache.get(template);
  if (compiled === undefined) {
    try {
      compiled = new UriTemplate(template);
    } catch {
      compiled = null;
    }
    templateCache.set(template, compiled);
  }
  return compiled?.match(uri) != null;
}
