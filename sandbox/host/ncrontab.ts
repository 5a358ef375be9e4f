// NCRONTAB as the timer extension reads it, on top of croner: six fields with seconds, day AND day-of-week.
import { Cron } from 'croner';

/**
 * The cron options that make croner read an NCRONTAB expression as the host does: exactly six fields,
 * and (as NCrontab) a day must match both the day-of-month and the day-of-week fields.
 */
export const ncrontabOptions = { mode: '6-part', domAndDow: true } as const;

const refuse = (name: string, why: string): Error => new Error(`function "${name}": ${why}`);

const monthNames = /JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC/gi;
const dayNames = /SUN|MON|TUE|WED|THU|FRI|SAT/gi;

/** Refuses what NCRONTAB would refuse: not six fields, or croner-only syntax such as `L`, `W`, `#`, `?`. */
export function checkNcrontab(name: string, schedule: string): void {
  const fields = schedule.trim().split(/\s+/);
  if (/^\d+(\.\d+)?:\d{2}:\d{2}$/.test(schedule.trim())) {
    throw refuse(name, `TimeSpan schedule "${schedule}" is not supported by the local host; use NCRONTAB`);
  }
  if (fields.length !== 6) {
    throw refuse(
      name,
      `timer schedule "${schedule}" has ${fields.length} fields; NCRONTAB needs 6: {second} {minute} {hour} {day} {month} {day-of-week}`,
    );
  }
  fields.forEach((field, i) => {
    const bare = i === 4 ? field.replace(monthNames, '0') : i === 5 ? field.replace(dayNames, '0') : field;
    if (!/^[\d*,\-/]+$/.test(bare))
      throw refuse(name, `timer schedule "${schedule}": field "${field}" is not NCRONTAB`);
  });
  try {
    new Cron(schedule, { ...ncrontabOptions, paused: true }).stop();
  } catch (error) {
    throw refuse(name, `timer schedule "${schedule}" is invalid: ${(error as Error).message}`);
  }
}
