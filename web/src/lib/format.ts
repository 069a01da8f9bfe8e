/** Formatting for what the user sees: ages, durations, sizes. Pure, so tests pin the wording. */

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for null. */
export function formatAge(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never';
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** Uptime in seconds as "3 d 4 h", "2 h 5 min", "45 s"; "–" for 0. */
export function formatUptime(seconds: number): string {
  if (seconds <= 0) return '–';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${seconds} s`;
}

/** Bytes as "2.0 GiB" / "512 MiB". */
export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${gib.toFixed(1)} GiB`;
  return `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/** Unix seconds (or null) as an age. */
export function formatUnixAge(seconds: number | null, nowMs: number): string {
  return seconds === null ? 'never' : formatAge(new Date(seconds * 1000).toISOString(), nowMs);
}

/** A sync backoff end (Unix seconds or null) as "none" or "for 2 min" (ended backoffs read "none"). */
export function formatBackoff(untilSeconds: number | null | undefined, nowMs: number): string {
  if (untilSeconds === null || untilSeconds === undefined) return 'none';
  const seconds = Math.ceil(untilSeconds - nowMs / 1000);
  if (seconds <= 0) return 'none';
  if (seconds < 60) return `for ${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `for ${minutes} min`;
  return `for ${Math.ceil(minutes / 60)} h`;
}
