import fc from 'fast-check';
import { guardrailConfig } from '../../lib/config/guardrails';
import { validatePayload } from '../../lib/flashduty/payload';
import type { QueueMessage } from '../../lib/queue/envelope';
import { formatComment } from '../../lib/actions/comment';
import { makeGuardrails } from '../../lib/worker/guardrails';
import { sampleClick } from '../fixtures/clicks';

const LISTED = { id: '1999632289504', email: 'oncall-lead@example.com' };
const guardrails = makeGuardrails('rollback', guardrailConfig('rollback', { ROLLBACK_ALLOWED_PERSONS: `${LISTED.id},${LISTED.email}` }), undefined);
const clickBy = (person: unknown): QueueMessage => ({
  version: 1,
  action: 'rollback',
  event_id: 'evt-42',
  received_at: Date.now(),
  payload: validatePayload(person === undefined ? { ...sampleClick(), person: undefined } : sampleClick({ person })),
});

/** Person fields as a push may carry them: listed values, their look-alikes, and anything at all. */
const idLike = fc.oneof(fc.constant(Number(LISTED.id)), fc.constant(Number(LISTED.id) + 0.5), fc.constant(-Number(LISTED.id)), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const emailLike = fc.oneof(
  fc.constantFrom(LISTED.email, LISTED.email.toUpperCase(), ` ${LISTED.email} `, LISTED.id, `${LISTED.email},${LISTED.id}`, `${LISTED.email}\u0000`, ''),
  fc.string({ maxLength: 40 }),
);
const person = fc.record({ person_id: idLike, email: emailLike, person_name: fc.string({ maxLength: 300 }) }, { requiredKeys: [] });

describe('who may click: <ACTION>_ALLOWED_PERSONS', () => {
  it('admits a push person exactly when its id, or its email in any case, is listed; a look-alike never passes', () => {
    fc.assert(
      fc.property(person, (p) => {
        const refusal = guardrails.checkPerson(clickBy(p));
        const listed = String(p.person_id) === LISTED.id || p.email?.trim().toLowerCase() === LISTED.email;
        expect(refusal === undefined).toBe(listed);
        if (refusal) {
          expect(refusal.status).toBe('failed');
          expect(refusal.summary).toContain('ROLLBACK_ALLOWED_PERSONS');
          // However long the name, the comment keeps its head, the rule and the click's marker.
          const comment = formatComment(clickBy(p), refusal);
          expect(Array.from(comment).length).toBeLessThanOrEqual(1024);
          expect(comment).toMatch(/\nflashduty-actions\/rollback event evt-42$/);
        }
      }),
    );
  });

  it('shortens a very long name and email in a refusal, so its comment still says which rule refused the click', () => {
    const refusal = guardrails.checkPerson(clickBy({ person_id: 7, person_name: 'n'.repeat(1000), email: `${'e'.repeat(1000)}@example.com` }))!;
    const comment = formatComment(clickBy({ person_id: 7, person_name: 'n'.repeat(1000) }), refusal);
    expect(Array.from(comment).length).toBeLessThanOrEqual(1024);
    expect(comment.split('\n')[1]).toBe(`${'n'.repeat(63)}… (${'e'.repeat(63)}…, person 7) is not in ROLLBACK_ALLOWED_PERSONS, so rollback was not run; ask someone listed there to click it`);
    expect(comment).toMatch(/\nflashduty-actions\/rollback event evt-42$/);
  });

  it('names the person as well as the push does: by name, else by email and id', () => {
    expect(guardrails.checkPerson(clickBy({ person_id: 7, email: 'lisi@toutie.com' }))!.summary).toMatch(/^lisi@toutie\.com, person 7 is not in ROLLBACK_ALLOWED_PERSONS/);
    expect(guardrails.checkPerson(clickBy({ person_id: 7 }))!.summary).toMatch(/^person 7 is not in/);
  });

  it('refuses a push with no person, or a person with neither id nor email, saying the click names nobody', () => {
    for (const nobody of [undefined, {}, { person_name: 'zhangsan' }]) expect(guardrails.checkPerson(clickBy(nobody))!.summary).toMatch(/^the click names no person/);
  });
});
