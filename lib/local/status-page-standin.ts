/**
 * FlashDuty Status Page, as the FlashDuty stand-in serves it: pages with components, and events
 * ("changes") created, moved along by timeline updates and resolved. It enforces what FlashDuty
 * documents: the first update carries component changes, component ids exist and are unique, and
 * on `resolved` every component the event references ends up operational.
 */

export interface StandInComponent {
  component_id: string;
  name: string;
  status: string;
}

export interface StandInPage {
  page_id: number;
  name: string;
  url_name: string;
  components: StandInComponent[];
}

export interface StandInChange {
  change_id: number;
  page_id: number;
  type: string;
  title: string;
  description: string;
  status: string;
  /** Every component the event referenced, with the status it last gave it. */
  components: Map<string, string>;
  updates: Array<{ update_id: string; status: string; description?: string; component_changes: Array<{ component_id: string; status: string }> }>;
}

/** A request FlashDuty would refuse: answered with this status and error code. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

type Changes = Array<{ component_id: string; status: string }>;
const CLOSED = new Set(['resolved', 'completed']);

export class StatusPageState {
  pages: StandInPage[] = [];
  readonly changes: StandInChange[] = [];
  private nextChange = 6294539747131;
  private nextUpdate = 1;

  reset(): void {
    this.changes.length = 0;
  }

  /** GET /status-page/list */
  list(): unknown {
    return { items: this.pages.map(({ page_id, name, url_name, components }) => ({ page_id, name, url_name, components: components.map(({ component_id, name }) => ({ component_id, name })) })) };
  }

  /** GET /status-page/change/active/list?page_id=&type= */
  activeList(params: URLSearchParams): unknown {
    const pageId = params.get('page_id') ?? '';
    const type = params.get('type') ?? '';
    if (!/^\d+$/.test(pageId)) return new Refusal(400, 'InvalidParameter', 'page_id must be an integer');
    if (!['incident', 'maintenance'].includes(type)) return new Refusal(400, 'InvalidParameter', 'type must be incident or maintenance');
    const items = this.changes
      .filter((c) => c.page_id === Number(pageId) && c.type === type && !CLOSED.has(c.status))
      .map(({ change_id, page_id, title, description, type: t, status }) => ({ change_id, page_id, title, description, type: t, status }));
    return { items, total: items.length };
  }

  /** POST /status-page/change/create (the body already matched the OpenAPI schema). */
  create(body: Record<string, unknown>): unknown {
    const page = this.pages.find((p) => p.page_id === body.page_id);
    if (!page) return new Refusal(400, 'ResourceNotFound', `status page ${String(body.page_id)} does not exist`);
    const updates = body.updates as Array<{ status?: string; description?: string; component_changes?: Changes }>;
    const first = updates[0];
    if (!first?.component_changes?.length) return new Refusal(400, 'InvalidParameter', 'the first update must carry component_changes');
    const change: StandInChange = {
      change_id: this.nextChange++,
      page_id: page.page_id,
      type: String(body.type),
      title: String(body.title),
      description: String(body.description ?? ''),
      status: String(body.status),
      components: new Map(),
      updates: [],
    };
    const refused = this.apply(page, change, String(body.status), first.component_changes, first.description);
    if (refused) return refused;
    this.changes.push(change);
    return { change_id: change.change_id, change_name: change.title };
  }

  /** POST /status-page/change/timeline/create */
  timeline(body: Record<string, unknown>): unknown {
    const change = this.changes.find((c) => c.page_id === body.page_id && c.change_id === body.change_id);
    if (!change) return new Refusal(400, 'ResourceNotFound', `event ${String(body.change_id)} does not exist on page ${String(body.page_id)}`);
    const page = this.pages.find((p) => p.page_id === change.page_id)!;
    const refused = this.apply(page, change, String(body.status), (body.component_changes as Changes | undefined) ?? [], body.description as string | undefined);
    if (refused) return refused;
    return { update_id: change.updates.at(-1)!.update_id };
  }

  private apply(page: StandInPage, change: StandInChange, status: string, changes: Changes, description: string | undefined): Refusal | undefined {
    const ids = changes.map((c) => c.component_id);
    if (new Set(ids).size !== ids.length) return new Refusal(400, 'InvalidParameter', 'component ids in component_changes must be unique');
    const unknown = ids.filter((id) => !page.components.some((c) => c.component_id === id));
    if (unknown.length) return new Refusal(400, 'InvalidParameter', `unknown component ${unknown.join(', ')} on page ${page.page_id}`);
    if (change.type === 'incident' && !['investigating', 'identified', 'monitoring', 'resolved'].includes(status)) {
      return new Refusal(400, 'InvalidParameter', `status ${status} does not apply to an incident`);
    }
    const after = new Map(change.components);
    for (const c of changes) after.set(c.component_id, c.status);
    if (CLOSED.has(status)) {
      const stillDown = [...after].filter(([, s]) => s !== 'operational').map(([id]) => id);
      if (stillDown.length) return new Refusal(400, 'InvalidParameter', `on ${status} every referenced component must be operational; not: ${stillDown.join(', ')}`);
    }
    change.components = after;
    change.status = status;
    change.updates.push({ update_id: `U${String(this.nextUpdate++).padStart(25, '0')}`, status, description, component_changes: changes });
    for (const c of changes) page.components.find((p) => p.component_id === c.component_id)!.status = c.status;
    return undefined;
  }
}

/** The page `npm start` configures (deploy/local.env names its components). */
export function localStatusPage(): StandInPage {
  return {
    page_id: 5750613685214,
    name: 'Local status page',
    url_name: 'local',
    components: [
      { component_id: '01KC3GAZ6ZJE40H55GM31RPWZE', name: 'Website', status: 'operational' },
      { component_id: '01KC3GB4M2Q7T8V9W0XYZ1ABCD', name: 'Search', status: 'operational' },
      { component_id: '01KC3GB9N3R8S9T0V1W2X3YZ4E', name: 'Checkout', status: 'operational' },
    ],
  };
}
