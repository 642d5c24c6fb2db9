import fc from 'fast-check';
import { statusPage } from '../../lib/actions/status-page';
import { selectComponents } from '../../lib/actions/status-page/components';
import { desiredStatus, formatLink, type Link, parseLink } from '../../lib/actions/status-page/link';
import { actionConfig } from '../../lib/config/worker';
import { ConfigError } from '../../lib/errors';

const REQUIRED = { STATUS_PAGE_ID: '5750613685214', STATUS_PAGE_COMPONENTS: '{"default":["Website"]}' };
const config = (env: NodeJS.ProcessEnv = {}) => actionConfig(statusPage, { ...REQUIRED, ...env });

describe('status-page configuration', () => {
  it('defaults to FlashDuty, the status_page_event field, identified while Processing and the severity map', () => {
    expect(config()).toMatchObject({
      STATUS_PAGE_PROVIDER: 'flashduty',
      STATUS_PAGE_FIELD: 'status_page_event',
      STATUS_PAGE_PROCESSING_STATUS: 'identified',
      STATUS_PAGE_SEVERITY_STATUS: { Critical: 'full_outage', Warning: 'partial_outage', Info: 'degraded' },
      STATUS_PAGE_NOTIFY: true,
    });
  });

  it('requires the page id and the components, naming each', () => {
    expect(() => actionConfig(statusPage, {})).toThrow(ConfigError);
    expect(() => actionConfig(statusPage, {})).toThrow(/STATUS_PAGE_ID: set the status page id/);
    expect(() => actionConfig(statusPage, { STATUS_PAGE_ID: '1' })).toThrow(/STATUS_PAGE_COMPONENTS: set STATUS_PAGE_COMPONENTS \(JSON\) or STATUS_PAGE_COMPONENTS_FILE/);
  });

  it('refuses an unknown provider, a bad field name, a bad component status and a broken template', () => {
    expect(() => config({ STATUS_PAGE_PROVIDER: 'pagerduty' })).toThrow(/STATUS_PAGE_PROVIDER: expected one of flashduty, statuspage, got "pagerduty"/);
    expect(() => config({ STATUS_PAGE_FIELD: 'status-page' })).toThrow(/STATUS_PAGE_FIELD: expected a FlashDuty field name/);
    expect(() => config({ STATUS_PAGE_SEVERITY_STATUS: '{"Critical":"on_fire"}' })).toThrow(/STATUS_PAGE_SEVERITY_STATUS: inline JSON: Critical: expected one of "degraded", "partial_outage", "full_outage"/);
    expect(() => config({ STATUS_PAGE_TITLE: 'Down {{ labels.service' })).toThrow(/STATUS_PAGE_TITLE: .*never closed/);
    expect(() => config({ STATUS_PAGE_MESSAGES: '{"resolved":"{{ nope }}"}' })).toThrow(/STATUS_PAGE_MESSAGES: .*unknown name "nope"/);
    expect(() => config({ STATUS_PAGE_COMPONENTS: '{"default":[]}' })).toThrow(/STATUS_PAGE_COMPONENTS: .*list at least one component/);
  });

  it('refuses Statuspage without its API key at cold start (and packaging), not at the first click', () => {
    expect(() => config({ STATUS_PAGE_PROVIDER: 'statuspage' })).toThrow(/invalid status-page configuration: STATUS_PAGE_PROVIDER=statuspage needs STATUS_PAGE_API_KEY \(or STATUS_PAGE_API_KEY_PARAM\)/);
    expect(config({ STATUS_PAGE_PROVIDER: 'statuspage', STATUS_PAGE_API_KEY_PARAM: '/team/statuspage-key' }).STATUS_PAGE_PROVIDER).toBe('statuspage');
  });

  it("accepts Statuspage's words for component statuses", () => {
    expect(config({ STATUS_PAGE_SEVERITY_STATUS: '{"Critical":"major_outage","Info":"degraded_performance"}' }).STATUS_PAGE_SEVERITY_STATUS).toEqual({
      Critical: 'full_outage',
      Warning: 'partial_outage',
      Info: 'degraded',
    });
  });
});

describe('choosing the components', () => {
  const components = { by_label: 'service', map: { checkout: ['Checkout', 'Payments'] }, default: ['Website'] };

  it('maps the label value, falls back to the default, and says why', () => {
    expect(selectComponents(components, { service: 'checkout' })).toEqual({ refs: ['Checkout', 'Payments'], why: 'label service=checkout' });
    expect(selectComponents(components, { service: 'search' })).toEqual({ refs: ['Website'], why: 'service=search is not mapped; default' });
    expect(selectComponents(components, {})).toEqual({ refs: ['Website'], why: 'no service label; default' });
  });

  it('is a problem when nothing matches and there is no default', () => {
    expect(selectComponents({ by_label: 'service', map: {} }, { service: 'x' })).toEqual({ problem: 'service=x is not in STATUS_PAGE_COMPONENTS.map and there is no default' });
    expect(selectComponents({ map: {} }, {})).toMatchObject({ problem: expect.stringContaining('no by_label and no default') });
  });

  it('never maps through inherited keys such as __proto__ or constructor', () => {
    for (const value of ['__proto__', 'constructor', 'toString']) {
      expect(selectComponents({ by_label: 'service', map: {} }, { service: value })).toHaveProperty('problem');
    }
  });
});

describe('the status a click asks for', () => {
  it('follows progress, and resolves on Closed or an Ok status', () => {
    expect(desiredStatus({ progress: 'Triggered' }, 'identified')).toEqual({ status: 'investigating' });
    expect(desiredStatus({ progress: 'Processing' }, 'monitoring')).toEqual({ status: 'monitoring' });
    expect(desiredStatus({ progress: 'Closed' }, 'identified')).toEqual({ status: 'resolved' });
    expect(desiredStatus({ progress: 'Processing', incident_status: 'Ok' }, 'identified')).toEqual({ status: 'resolved' });
    expect(desiredStatus({}, 'identified')).toMatchObject({ problem: expect.stringContaining('no usable progress') });
  });
});

describe('the link stored in the incident field', () => {
  const link: Link = { provider: 'flashduty', page: '1', id: '6294539747131', status: 'identified', at: 1700000000000, click: 'evt-1', components: ['01KC'] };

  it('reads back what it wrote, and treats empty as no event yet', () => {
    expect(parseLink(formatLink(link), 'f')).toEqual({ link });
    expect(parseLink(link, 'f')).toEqual({ link });
    for (const empty of [undefined, null, '', '  ']) expect(parseLink(empty, 'f')).toEqual({ none: true });
  });

  it('never throws on whatever a person typed into the field, and names the field', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (value) => {
        const read = parseLink(value, 'status_page_event');
        if ('problem' in read) expect(read.problem).toContain('status_page_event');
      }),
    );
  });
});
