import { validatePayload } from '../../lib/flashduty/payload';
import { clickKeyOf, fifoIdsOf, type QueueMessage } from '../../lib/queue/envelope';
import { sampleClick } from '../fixtures/clicks';

const message = (eventId: string, incidentId = '6551f3888713372ad1054d57', action = 'restart-host'): QueueMessage => {
  const click = sampleClick();
  return { version: 1, action, event_id: eventId, received_at: Date.now(), payload: validatePayload({ ...click, incident: { ...click.incident, incident_id: incidentId } }) };
};

describe('click key and FIFO ids', () => {
  it('keys a click on action, incident and event id, and groups by incident', () => {
    expect(fifoIdsOf(message('evt-1'))).toEqual({ MessageGroupId: '6551f3888713372ad1054d57', MessageDeduplicationId: 'restart-host/6551f3888713372ad1054d57/evt-1' });
  });

  it('tells apart the same event id on two incidents, and on two actions', () => {
    const keys = [message('evt-1'), message('evt-1', 'aaaaaaaaaaaaaaaaaaaaaaaa'), message('evt-1', undefined, 'echo')].map(clickKeyOf);
    expect(new Set(keys).size).toBe(3);
  });

  it.each([
    ['too long for SQS', 'e'.repeat(200)],
    ['not printable ASCII', 'évènement 1'],
    ['holding a space', 'evt 1'],
  ])('hashes an event id %s into a deduplication id SQS accepts, stable and distinct', (_label, eventId) => {
    const key = clickKeyOf(message(eventId));
    expect(key).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(clickKeyOf(message(eventId))).toBe(key);
    expect(clickKeyOf(message(eventId, 'aaaaaaaaaaaaaaaaaaaaaaaa'))).not.toBe(key);
  });
});
