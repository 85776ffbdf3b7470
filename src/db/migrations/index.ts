// Every migration, in order. Names sort lexically: 0001-0099 foundation, 0100-0199 OAuth,
// 0200-0299 domains (Kandy), 0300-0399 infrastructure, 0400-0499 platforms (Zaikio), 0500-0599
// identity (e-mail, 2FA), 0600-0699 federation and audit, 0700- infrastructure added since. Add
// new files here; Kysely refuses a new migration that sorts before one a database has already applied.
import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_webhooks.js';
import * as m0100 from './0100_oauth.js';
import * as m0200 from './0200_domains.js';
import * as m0300 from './0300_change_feed.js';
import * as m0301 from './0301_refresh_chain.js';
import * as m0302 from './0302_client_credentials_generation.js';
import * as m0303 from './0303_idempotency_keys.js';
import * as m0304 from './0304_org_api_accounts.js';
import * as m0400 from './0400_platforms.js';
import * as m0401 from './0401_platform_events.js';
import * as m0500 from './0500_mail.js';
import * as m0501 from './0501_two_factor.js';
import * as m0502 from './0502_org_two_factor.js';
import * as m0503 from './0503_means_of_payment.js';
import * as m0600 from './0600_federation.js';
import * as m0601 from './0601_audit_reading.js';
import * as m0700 from './0700_sqlite_change_versions.js';
import * as m0701 from './0701_refresh_family_unlocked.js';
import * as m0702 from './0702_grant_row_notifications.js';
import * as m0800 from './0800_refresh_links.js';
import * as m0801 from './0801_prune_indexes.js';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_webhooks': m0002,
  '0100_oauth': m0100,
  '0200_domains': m0200,
  '0300_change_feed': m0300,
  '0301_refresh_chain': m0301,
  '0302_client_credentials_generation': m0302,
  '0303_idempotency_keys': m0303,
  '0304_org_api_accounts': m0304,
  '0400_platforms': m0400,
  '0401_platform_events': m0401,
  '0500_mail': m0500,
  '0501_two_factor': m0501,
  '0502_org_two_factor': m0502,
  '0503_means_of_payment': m0503,
  '0600_federation': m0600,
  '0601_audit_reading': m0601,
  '0700_sqlite_change_versions': m0700,
  '0701_refresh_family_unlocked': m0701,
  '0702_grant_row_notifications': m0702,
  '0800_refresh_links': m0800,
  '0801_prune_indexes': m0801,
};
