/**
 * Device conditions: the part of a session's selection policy a device can check by itself (battery, connection,
 * page visibility). The server picks only clients that meet them; a client training a round watches them and
 * withdraws (`withdraw` message) the moment it stops meeting them. One rule for both sides, so a client that
 * withdrew is not picked again while the condition holds.
 */
import { z } from 'zod';
import type { Capabilities } from './messages.js';

/** Why a client left a round early: a condition it stopped meeting, or its user's choice (`user`). */
export const WITHDRAW_REASONS = ['battery', 'metered', 'hidden', 'user'] as const;
export type WithdrawReason = (typeof WITHDRAW_REASONS)[number];

/**
 * The conditions a client must meet to train (all optional: absent = no condition). A client that does not report
 * a capability meets the condition on it (a desktop browser has no battery API; an unknown connection is not
 * assumed metered).
 * @example
 * ```ts
 * DeviceConditionsSchema.parse({ minBattery: 0.2, excludeConnectionTypes: ['cellular'], requireVisible: true });
 * ```
 */
export const DeviceConditionsSchema = z.object({
  /** Battery level (0..1) below which a client that is not charging does not train. */
  minBattery: z.number().min(0).max(1).optional(),
  /** A client that reports a battery trains only while charging. */
  requireCharging: z.boolean().optional(),
  /** Connection types (`connection.type`) on which a client does not train, e.g. `['cellular']`. */
  excludeConnectionTypes: z.array(z.string().max(32)).max(32).optional(),
  /** A client whose connection asks to save data (`connection.saveData`) does not train. */
  excludeSaveData: z.boolean().optional(),
  /** A browser tab trains only while visible (foreground). */
  requireVisible: z.boolean().optional(),
});
export type DeviceConditions = z.infer<typeof DeviceConditionsSchema>;

/**
 * The first condition these capabilities break (`battery`, `metered`, `hidden`), or null when they meet them all.
 * @example
 * ```ts
 * conditionBreach({ battery: { level: 0.1, charging: false } }, { minBattery: 0.2 }) // 'battery'
 * conditionBreach({ connection: { type: 'wifi' } }, { excludeConnectionTypes: ['cellular'] }) // null
 * ```
 */
export function conditionBreach(caps: Capabilities, c: DeviceConditions): Exclude<WithdrawReason, 'user'> | null {
  const battery = caps.battery;
  if (battery && !battery.charging && ((c.minBattery !== undefined && battery.level < c.minBattery) || c.requireCharging)) return 'battery';
  const conn = caps.connection;
  if (conn?.type !== undefined && c.excludeConnectionTypes?.includes(conn.type)) return 'metered';
  if (c.excludeSaveData && conn?.saveData) return 'metered';
  if (c.requireVisible && caps.visible === false) return 'hidden';
  return null;
}

/**
 * True when `c` sets at least one condition (a task without any needs no watching).
 * @example
 * ```ts
 * hasConditions({ excludeConnectionTypes: [] }) // false
 * ```
 */
export function hasConditions(c: DeviceConditions | undefined): c is DeviceConditions {
  if (!c) return false;
  return c.minBattery !== undefined || c.requireCharging === true || (c.excludeConnectionTypes?.length ?? 0) > 0 || c.excludeSaveData === true || c.requireVisible === true;
}
