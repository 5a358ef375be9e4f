// NCRONTAB as the local host reads it: six fields, NCrontab's syntax only, day AND day-of-week.
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { checkNcrontab, ncrontabOptions } from '../../../sandbox/host/ncrontab.js';

describe('checkNcrontab', () => {
  it.each(['0 */5 * * * *', '30 0 9 * JAN-MAR MON-FRI', '0 0 0 1,15 * *', '*/1 * * * * *'])(
    'accepts %s',
    (schedule) => {
      expect(() => checkNcrontab('f', schedule)).not.toThrow();
    },
  );

  it.each([
    ['0 0 * * *', 'has 5 fields; NCRONTAB needs 6'],
    ['0 0 0 * * * 2030', 'has 7 fields'],
    ['0 0 0 L * *', 'field "L" is not NCRONTAB'],
    ['0 0 0 ? * MON', 'field "?" is not NCRONTAB'],
    ['0 0 0 * * 5#2', 'field "5#2" is not NCRONTAB'],
    ['00:05:00', 'TimeSpan schedule "00:05:00" is not supported'],
    ['0 0 25 * * *', 'is invalid'],
  ])('refuses %s', (schedule, message) => {
    expect(() => checkNcrontab('refreshTokens', schedule)).toThrow(`function "refreshTokens": `);
    expect(() => checkNcrontab('refreshTokens', schedule)).toThrow(message);
  });
});

describe('ncrontabOptions', () => {
  it('needs both the day of month and the day of week to match, as NCrontab does', () => {
    const next = new Cron('0 0 0 13 * FRI', { ...ncrontabOptions, paused: true }).nextRun(
      new Date('2026-01-01T00:00:00'),
    );

    expect(next?.getDate()).toBe(13);
    expect(next?.getDay()).toBe(5);
  });
});
