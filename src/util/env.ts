/**
 * A tuning knob from the environment: a non-negative number when `name` holds one, else
 * `fallback` (unset, empty, negative or not a number).
 */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}
