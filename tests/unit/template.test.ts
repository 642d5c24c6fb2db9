import * as v from 'valibot';
import { TemplateSyntaxError, TemplateValueError } from '../../lib/template/compile';
import { compileHeader, compileJson, compileShell, compileText, compileUrl } from '../../lib/template/places';
import { templateSchema } from '../../lib/template/schema';
import { templateContext } from '../../lib/template/context';
import type { QueueMessage } from '../../lib/queue/envelope';
import { sampleClick } from '../fixtures/clicks';
import { contextWith } from '../fixtures/template-context';

const text = (source: string, context = contextWith()) => compileText(source).render(context);

describe('template context', () => {
  it('fills labels from the incident, then from the first alert for keys the incident lacks', () => {
    const context = contextWith({}, { alerts: [{ labels: { service: 'alert-svc', pod: 'p-1', bad: 7 } }] });
    expect(context.labels).toMatchObject({ service: 'engine', pod: 'p-1' });
    expect(context.labels).not.toHaveProperty('bad');
  });

  it('has empty labels and no alert for a manual incident without labels or alerts', () => {
    const context = contextWith();
    const bare = { ...context.incident, labels: undefined, alerts: undefined };
    const manual = templateContext({ version: 1, action: 'enrich', event_id: 'e', received_at: 0, payload: { ...sampleClick(), incident: bare } as QueueMessage['payload'] });
    expect([manual.labels, manual.alert]).toEqual([{}, undefined]);
    expect(compileText('{{ labels.service | default: "unknown" }}').render(manual)).toBe('unknown');
  });

  it('names the person, event, action and every incident field', () => {
    expect(text('{{ person.person_name }} {{ event_id }} {{ action }} {{ incident.incident_severity }} {{ incident.labels.cluster }} {{ alert.title }}')).toBe(
      'zhangsan evt-1 enrich Critical nj nj / es.nj.01 - Custom field test',
    );
  });

  it('renders times in seconds by default, and shifted windows in seconds, ms, ns and RFC 3339', () => {
    expect(text('{{ start_time }}')).toBe('1699869562');
    expect(text('{{ start_time - 15m | ms }}')).toBe(String((1699869562 - 900) * 1000));
    expect(text('{{ start_time + 1h | s }}')).toBe(String(1699869562 + 3600));
    expect(text('{{ start_time | ns }}')).toBe('1699869562000000000');
    expect(text('{{ start_time - 1d | rfc3339 }}')).toBe('2023-11-12T09:59:22.000Z');
    expect(text('{{ event_time | ms }} {{ received_at | ms }}')).toBe('1700208013988 1700208014000');
  });

  it('refuses start_time on a push that carries none, naming it, unless a default applies', () => {
    const context = contextWith();
    const bare = { ...context.incident, start_time: undefined };
    const push = templateContext({ version: 1, action: 'enrich', event_id: 'e', received_at: 0, payload: { ...sampleClick(), incident: bare } as QueueMessage['payload'] });
    expect(catchError(() => compileText('{{ start_time - 15m | ms }}').render(push))).toMatchObject({ path: 'start_time - 15m', message: expect.stringContaining('start_time') });
    expect(compileText('{{ start_time | ms | default: "0" }}').render(push)).toBe('0');
  });

  it('treats an incident that has not ended as having no end_time, so a default applies', () => {
    expect(text('{{ end_time | ms | default: "now" }}')).toBe('now');
  });
});

describe('template values', () => {
  it('uses a default only when the value is missing, in either quote style', () => {
    expect(text(`{{ labels.env | default: "prod" }}/{{ labels.service | default: 'x' }}`)).toBe('prod/engine');
  });

  it('refuses a missing value with an error naming its path', () => {
    const error = catchError(() => text('{{ labels.env }}'));
    expect(error).toBeInstanceOf(TemplateValueError);
    expect(error).toMatchObject({ path: 'labels.env', message: expect.stringContaining('no value for labels.env') });
  });

  it('reads label keys with dots or slashes through brackets, and list items by index', () => {
    const context = contextWith({ 'app.kubernetes.io/name': 'web' });
    expect(text(`{{ labels["app.kubernetes.io/name"] }} {{ incident.fields.impacted_services.1 }}`, context)).toBe('web order');
  });

  it('refuses an object or list where one value is needed', () => {
    expect(() => text('{{ incident.fields.impacted_services }}')).toThrow('incident.fields.impacted_services is a list, not a single value');
  });

  it('never reaches inherited properties such as constructor', () => {
    expect(() => text('{{ labels.constructor }}')).toThrow(TemplateValueError);
    expect(text('{{ labels.__proto__ | default: "none" }}')).toBe('none');
  });

  it('changes case with lower and upper', () => {
    expect(text('{{ incident.incident_severity | lower }}-{{ labels.cluster | upper }}')).toBe('critical-NJ');
  });
});

describe('template syntax errors are found when compiling, with the column', () => {
  it.each([
    ['{{ labels.env | nope }}', 'unknown filter "nope"'],
    ['a {{ labels.env', '"{{" is never closed with "}}" (column 3)'],
    ['a }} b', '"}}" without an opening "{{"'],
    ['{{ labelz.env }}', 'unknown name "labelz"'],
    ['{{ start_time-15m }}', 'put spaces around the sign'],
    ['{{ start_time - 15 }}', 'is not a duration'],
    ['{{ labels.env - 15m }}', 'only times'],
    ['{{ labels.env | ms }}', '"ms" formats a time'],
    ['{{ start_time | upper }}', 'format it first'],
    ['{{ labels.env | default }}', 'default needs a quoted value'],
    ['{{ start_time.x }}', 'start_time is a time and has no fields'],
    ['{{ }}', 'expected a name'],
    ['{{ labels.* }}', 'unexpected "*"'],
  ])('%s', (source, problem) => {
    const error = catchError(() => compileText(source));
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    expect((error as Error).message).toContain(problem);
  });
});

describe('URL templates', () => {
  const context = contextWith({ svc: 'a/b?x=1#y', dots: '..', empty: '' });

  it('puts a path value in one encoded segment and a query value in one encoded value', () => {
    const url = compileUrl('https://tempo.example:3200/api/{{ labels.svc }}/search?q={{ labels.svc }}&start={{ start_time - 15m | ms }}').render(context);
    expect(url).toBe(`https://tempo.example:3200/api/a%2Fb%3Fx%3D1%23y/search?q=a%2Fb%3Fx%3D1%23y&start=${(1699869562 - 900) * 1000}`);
  });

  it('refuses a placeholder in the scheme, host, port or user info when compiling', () => {
    for (const source of ['{{ labels.svc }}/x', 'https://{{ labels.svc }}/x', 'https://api.example.com{{ labels.svc }}', 'https://api.example.com:{{ labels.svc }}/', 'https://u:{{ labels.svc }}@h/', 'ftp://h/{{ labels.svc }}', 'https://h:99999/{{ labels.svc }}']) {
      expect(() => compileUrl(source)).toThrow(TemplateSyntaxError);
    }
  });

  it('refuses a value that would make a dot or empty path segment', () => {
    expect(() => compileUrl('https://h/a/{{ labels.dots }}/b').render(context)).toThrow('labels.dots would make the URL path segment ".."');
    expect(() => compileUrl('https://h/a/{{ labels.empty }}/b').render(context)).toThrow('would make the URL path segment ""');
    expect(compileUrl('https://h/a/v{{ labels.empty }}/b?x={{ labels.dots }}').render(context)).toBe('https://h/a/v/b?x=..');
  });
});

describe('header templates', () => {
  it('refuses CR, LF and NUL in a value, naming the path', () => {
    const context = contextWith({ evil: 'x\r\nX-Injected: 1', nul: 'a\u0000b' });
    expect(() => compileHeader('Bearer {{ labels.evil }}').render(context)).toThrow('labels.evil has a line break');
    expect(() => compileHeader('{{ labels.nul }}').render(context)).toThrow(TemplateValueError);
    expect(compileHeader('svc={{ labels.service }}').render(context)).toBe('svc=engine');
  });

  it('refuses control characters in the static text when compiling', () => {
    expect(() => compileHeader('a\nb')).toThrow(TemplateSyntaxError);
  });
});

describe('shell templates', () => {
  const context = contextWith({ quote: "it's; rm -rf /", host: 'es.nj.01' });

  it('single-quotes each value as one word', () => {
    expect(compileShell('systemctl restart {{ labels.service }} --reason={{ labels.quote }}').render(context)).toBe(`systemctl restart 'engine' --reason='it'\\''s; rm -rf /'`);
  });

  it('with plainNames, refuses a value that is not a plain name', () => {
    const template = compileShell('ping {{ labels.host }} {{ labels.quote }}', { plainNames: true });
    expect(() => template.render(context)).toThrow('labels.quote is not a plain name');
  });

  it('refuses a placeholder inside quotes or after a backslash when compiling', () => {
    const refused = {
      'echo "{{ labels.host }}"': 'inside " quotes',
      "echo '{{ labels.host }}'": "inside ' quotes",
      'echo `{{ labels.host }}`': 'inside ` quotes',
      "echo $'\\' {{ labels.host }} '": "inside $' quotes",
      'echo \\{{ labels.host }}': 'after a backslash',
      'echo hi # {{ labels.host }}': 'in a comment',
      'cat <<EOF\n{{ labels.host }}\nEOF': 'after a here-document',
    };
    for (const [source, problem] of Object.entries(refused)) expect(() => compileShell(source)).toThrow(problem);
    expect(compileShell("echo 'a' # c\n{{ labels.host }}#x").render(context)).toBe("echo 'a' # c\n'es.nj.01'#x");
    expect(compileShell('echo "a b" \\" {{ labels.host }}').render(context)).toBe(`echo "a b" \\" 'es.nj.01'`);
  });
});

describe('JSON templates', () => {
  it('renders string leaves and keeps keys, numbers, booleans and null', () => {
    const template = compileJson({ query: '{service="{{ labels.service }}"}', limit: 20, exact: true, none: null, tags: ['{{ labels.cluster }}'] });
    expect(template.render(contextWith())).toEqual({ query: '{service="engine"}', limit: 20, exact: true, none: null, tags: ['nj'] });
  });

  it('keeps a hostile value inside its JSON string', () => {
    const body = JSON.stringify(compileJson({ q: '{{ labels.evil }}' }).render(contextWith({ evil: '","admin":true,"x":"\\' })));
    expect(JSON.parse(body)).toEqual({ q: '","admin":true,"x":"\\' });
  });

  it('finds a syntax error in any leaf when compiling', () => {
    expect(() => compileJson({ a: [{ b: '{{ labels.x | nope }}' }] })).toThrow('unknown filter "nope"');
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('template config schemas', () => {
  const Source = v.object({ url: templateSchema.url(), headers: v.record(v.string(), templateSchema.header()), body: v.optional(templateSchema.json()) });

  it('compile templates while the config is validated', () => {
    const source = v.parse(Source, { url: 'https://h/{{ labels.service }}', headers: { 'x-env': '{{ labels.env | default: "prod" }}' }, body: { q: '{{ labels.cluster }}' } });
    expect(source.url.render(contextWith())).toBe('https://h/engine');
    expect(source.headers['x-env']!.render(contextWith())).toBe('prod');
    expect(source.body!.render(contextWith())).toEqual({ q: 'nj' });
  });

  it('report a template syntax error as a config issue at its key', () => {
    const result = v.safeParse(Source, { url: 'https://{{ labels.host }}/', headers: {}, body: { q: '{{ nope }}' } });
    expect(result.success).toBe(false);
    const issues = result.issues!.map((issue) => `${v.getDotPath(issue)}: ${issue.message}`);
    expect(issues).toEqual([expect.stringMatching(/^url: URL template .* fixed host/), expect.stringMatching(/^body: template .*unknown name "nope"/)]);
  });
});
