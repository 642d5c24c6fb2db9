import type { ComponentsConfig } from './config';
import type { Provider } from './provider';

export interface Component {
  id: string;
  name: string;
}

/** The component references (ids or names) this incident affects, from its labels and the config. */
export function selectComponents(config: ComponentsConfig, labels: Record<string, string>): { refs: string[]; why: string } | { problem: string } {
  if (config.by_label) {
    // Own keys only: a label value such as __proto__ must not reach Object.prototype.
    const value = Object.hasOwn(labels, config.by_label) ? labels[config.by_label] : undefined;
    const mapped = value !== undefined && Object.hasOwn(config.map, value) ? config.map[value] : undefined;
    if (mapped) return { refs: mapped, why: `label ${config.by_label}=${value}` };
    if (config.default) return { refs: config.default, why: value === undefined ? `no ${config.by_label} label; default` : `${config.by_label}=${value} is not mapped; default` };
    return { problem: value === undefined ? `the incident has no "${config.by_label}" label and STATUS_PAGE_COMPONENTS has no default` : `${config.by_label}=${value} is not in STATUS_PAGE_COMPONENTS.map and there is no default` };
  }
  if (config.default) return { refs: config.default, why: 'default' };
  return { problem: 'STATUS_PAGE_COMPONENTS names no by_label and no default, so no component is affected' };
}

/** Component lists per page, fetched once per cold start (and again when a name is not found). */
const pages = new Map<string, Promise<Component[]>>();

/**
 * Resolves ids and names to components; an unknown one is a problem listing what the page has.
 * For a resolve (`resolving`) the list is read fresh, and a component no longer on the page is left
 * out and named in `missing`: it cannot be set back to operational, and must not keep the public
 * event open.
 */
export async function resolveComponents(
  refs: string[],
  pageKey: string,
  provider: Provider,
  resolving = false,
): Promise<{ components: Component[]; missing: string[] } | { problem: string }> {
  const attempt = async (fresh: boolean) => {
    if (fresh) pages.delete(pageKey);
    let list = pages.get(pageKey);
    if (!list) {
      list = provider.components();
      pages.set(pageKey, list);
      list.catch(() => pages.delete(pageKey));
    }
    const all = await list;
    return { all, found: refs.map((ref) => all.find((c) => c.id === ref) ?? all.find((c) => c.name.trim().toLowerCase() === ref.toLowerCase())) };
  };
  let { all, found } = await attempt(resolving);
  if (found.includes(undefined) && !resolving) ({ all, found } = await attempt(true));
  const unknown = refs.filter((_, i) => !found[i]);
  if (unknown.length > 0 && !resolving) {
    const known = all.map((c) => `${c.name} (${c.id})`).join(', ') || 'none';
    return { problem: `unknown component ${unknown.map((u) => JSON.stringify(u)).join(', ')} on the status page; it has: ${known}` };
  }
  const unique = new Map(found.filter((c) => c !== undefined).map((c) => [c.id, c]));
  return { components: [...unique.values()], missing: [...new Set(unknown)] };
}
