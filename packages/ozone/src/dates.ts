const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const TIMEZONES: Record<string, number> = {
  GMT: 0,
  UTC: 0,
  UT: 0,
  Z: 0,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
};

const pad = (n: number) => String(n).padStart(2, "0");

/** A date as Ozone writes it everywhere: `EEE, dd MMM yyyy HH:mm:ss GMT`. */
export function formatOzoneDate(date: Date): string {
  return `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} GMT`;
}

/**
 * A request's `Date` as Ozone's lenient `SimpleDateFormat("EEE, dd MMM
 * yyyy HH:mm:ss zzz")` takes it: names in any case, the weekday not
 * checked, one-digit days, a zone as a name (GMT, UTC, PST, ...), `GMT+05:30`
 * or RFC 822's `+0000`, junk after it ignored. The value is never compared
 * with the clock (the old Java client sent dates near 1970). What does not
 * parse is an error with Java's message.
 */
export function parseOzoneDate(text: string): { date: Date } | { error: string } {
  const m =
    /^\s*([A-Za-z]{3,}),\s*(\d{1,2})\s+([A-Za-z]{3,})\s+(\d{1,4})\s+(\d{1,2}):(\d{1,2}):(\d{1,2})\s+(?:([A-Za-z]{1,4})(?:([+-])(\d{1,2}):?(\d{2}))?|([+-])(\d{2})(\d{2}))/.exec(
      text,
    );
  const month = m ? MONTHS.findIndex((name) => name.toLowerCase() === (m[3] as string).slice(0, 3).toLowerCase()) : -1;
  const day = m ? DAYS.findIndex((name) => name.toLowerCase() === (m[1] as string).slice(0, 3).toLowerCase()) : -1;
  let offsetMinutes: number | undefined;
  if (m?.[8] !== undefined) {
    const zone = m[8].toUpperCase();
    const base = TIMEZONES[zone];
    if (base !== undefined) {
      const sign = m[9] === "-" ? -1 : 1;
      offsetMinutes = m[9] === undefined ? base : base + sign * (Number(m[10]) * 60 + Number(m[11]));
    }
  } else if (m?.[12] !== undefined) {
    offsetMinutes = (m[12] === "-" ? -1 : 1) * (Number(m[13]) * 60 + Number(m[14]));
  }
  if (!m || month < 0 || day < 0 || offsetMinutes === undefined) return { error: `Unparseable date: "${text}"` };
  const utc = Date.UTC(Number(m[4]), month, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7])) - offsetMinutes * 60_000;
  return { date: new Date(utc) };
}
