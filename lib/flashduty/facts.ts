/**
 * Facts about FlashDuty that the code depends on, carried into the project from FlashDuty's docs
 * (see README "FlashDuty facts"). Keep the sources in the comments when you change a value.
 */

/** Source IPs of Custom Action pushes (developer docs, modified 2024-11-21; "may be updated"). */
export const FLASHDUTY_SOURCE_IPS = ['47.94.95.118', '123.56.8.183', '47.94.193.81', '1.13.19.96'] as const;

/** The push deadline. The EN docs say 1 s (ZH says 2 s since 2026-01); we plan for the shorter one. */
export const PUSH_DEADLINE_MS = 1000;

/** Open API default base URL (HTTPS only). */
export const OPEN_API_URL = 'https://api.flashcat.cloud';

/** `/incident/comment`: `comment` maxLength (JSON Schema counts code points). */
export const COMMENT_MAX_CHARS = 1024;

/** Open API rate limit per account: 50 requests/s and 1,000 requests/min on every endpoint we call. */
export const RATE_LIMIT_PER_SECOND = 50;
export const RATE_LIMIT_PER_MINUTE = 1000;

/** Incident ids are MongoDB ObjectIDs. */
export const INCIDENT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

/** `/incident/feed`: `limit` maximum (entries per page). */
export const FEED_PAGE_MAX = 100;

/**
 * Envelope `error.code` values that mean success: the official Go SDK (v0.14, 2026) treats these
 * as no error, so a gateway or an older server may send them on a request that worked.
 */
export const SUCCESS_CODES: ReadonlySet<string> = new Set(['', '0', 'OK']);

/**
 * Incident Webhook event types (FlashDuty docs, "Incident Webhook"); a webhook subscribes per type.
 * `i_comm` and `i_r_field` are also raised by our own comments and field writes. Its deadline is
 * 2 s (both languages); the receiver answers events inside PUSH_DEADLINE_MS like clicks.
 */
export const INCIDENT_EVENT_TYPES = [
  'i_new', 'i_assign', 'i_a_rspd', 'i_snooze', 'i_wake', 'i_ack', 'i_unack', 'i_storm', 'i_custom', 'i_rslv',
  'i_reopen', 'i_merge', 'i_comm', 'i_r_title', 'i_r_desc', 'i_r_impact', 'i_r_rc', 'i_r_rsltn', 'i_r_severity', 'i_r_field',
] as const;
