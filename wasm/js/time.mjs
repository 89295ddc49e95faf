// Times for the module: (seconds since the epoch as a BigInt, nanoseconds).
// A Date (or milliseconds) is exact to the millisecond; an RFC 3339 string
// is exact to the nanosecond, as Go's time.Time is.

import { EdgeflagError } from "./errors.mjs";

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function fromMillis(ms, what) {
  if (!Number.isFinite(ms)) throw new EdgeflagError("ErrArgument", `${what}: not a valid time`);
  const sec = Math.floor(ms / 1000);
  return { sec: BigInt(sec), nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/** parseRFC3339 reads an RFC 3339 time exactly: {sec: bigint, nsec}. */
export function parseRFC3339(text, what = "time") {
  const m = RFC3339.exec(text);
  if (!m) throw new EdgeflagError("ErrArgument", `${what}: ${JSON.stringify(String(text).slice(0, 40))} is not an RFC 3339 time`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const maxDay = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  let off = 0;
  if (m[9]) {
    const oh = Number(m[10]), om = Number(m[11]);
    if (oh > 23 || om > 59) throw new EdgeflagError("ErrArgument", `${what}: offset out of range in ${text}`);
    off = (m[9] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > maxDay || h > 23 || mi > 59 || s > 59) {
    throw new EdgeflagError("ErrArgument", `${what}: field out of range in ${text}`);
  }
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const fixed = new Date(utc);
  fixed.setUTCFullYear(y);
  const sec = BigInt(fixed.getTime() / 1000) - BigInt(off);
  const nsec = m[7] ? Number(m[7].padEnd(9, "0")) : 0;
  return { sec, nsec };
}

/**
 * toTime converts a time argument: undefined (the current time), a Date,
 * milliseconds since the epoch, or an RFC 3339 string.
 */
export function toTime(now, what = "now") {
  if (now === undefined || now === null) return fromMillis(Date.now(), what);
  if (now instanceof Date) return fromMillis(now.getTime(), what);
  if (typeof now === "number") return fromMillis(now, what);
  if (typeof now === "string") return parseRFC3339(now, what);
  throw new EdgeflagError("ErrArgument", `${what}: want a Date, milliseconds or an RFC 3339 string, not ${typeof now}`);
}

/** toMillis gives the time argument in milliseconds since the epoch. */
export function toMillis(now, what = "now") {
  const t = toTime(now, what);
  return Number(t.sec) * 1000 + Math.floor(t.nsec / 1e6);
}
