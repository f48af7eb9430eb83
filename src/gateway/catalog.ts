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

  /** The server of a resource URI: a listed resource first, else exactly one matching template. */
  findResource(uri: string): ItemRef | "ambiguous" | undefined {
    for (const upstream of this.upstreams.values()) {
      if (upstream.lists.resources.some((r) => r.uri === uri)) return { upstream, name: uri };
    }
    const matches: Upstream[] = [];
    for (const upstream of this.upstreams.values()) {
      if (upstream.lists.resourceTemplates.some((t) => templateMatches(t.uriTemplate, uri))) matches.push(upstream);
    }
    if (matches.length > 1) return "ambiguous";
    return matches[0] ? { upstream: matches[0], name: uri } : undefined;
  }

  findResourceTemplate(uriTemplate: string): ItemRef | undefined {
    for (const upstream of this.upstreams.values()) {
      if (upstream.lists.resourceTemplates.some((t) => t.uriTemplate === uriTemplate)) return { upstream, name: uriTemplate };
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

  prompts(visible: (upstream: Upstream) => boolean): Prompt[] {
    const out: Prompt[] = [];
    for (const upstream of this.upstreams.values()) {
      if (!visible(upstream)) continue;
      for (const p of upstream.lists.prompts) out.push({ ...p, name: this.exposedName(upstream.name, p.name) });
    }
    return out;
  }

  resources(visible: (upstream: Upstream) => boolean): Resource[] {
    return [...this.upstreams.values()].filter(visible).flatMap((u) => u.lists.resources);
  }

  resourceTemplates(visible: (upstream: Upstream) => boolean): ResourceTemplate[] {
    return [...this.upstreams.values()].filter(visible).flatMap((u) => u.lists.resourceTemplates);
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
