// Table types for Kysely. Timestamps are epoch milliseconds (BIGINT on PostgreSQL, INTEGER on
// SQLite, parsed to number on both); identifiers are text (UUIDs, v7 where order matters).
// Boolean-ish flags are integers 0/1 so that one set of migrations serves both databases.
import type { Generated } from 'kysely';

export interface SettingsTable { key: string; value: string }

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  /** Set when a newer key takes over: the key keeps being published until this time. */
  retired_at: number | null;
  publish_until: number | null;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: number;
  /** When the current address was proved by a link sent to it (migration 0500); null: unverified. */
  email_verified_at: number | null;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value: a database leak does not hand out live sessions. */
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  /** 1 when the log-in passed a second factor: a TOTP or recovery code, or MFA the provider asserted (migration 0600). */
  second_factor: Generated<number>;
}

export interface PhoneNumbersTable {
  id: string;
  user_id: string;
  e164: string;
  verified_at: number | null;
  pin_hash: string | null;
  pin_expires_at: number | null;
  pin_attempts: number;
  pin_sent_at: number | null;
  /** Sends counted inside the current rate-limit window, which started at pin_window_start. */
  pin_sends: number;
  pin_window_start: number | null;
  created_at: number;
}

export interface SmsMessagesTable {
  id: string;
  recipient: string;
  /** The account whose action caused the message; the outbox page shows a person only theirs. */
  user_id: string | null;
  phone_number_id: string | null;
  body: string;
  provider: string;
  created_at: number;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  /** ISO 3166-1 alpha-2, when known (migration 0400). */
  country_code: string | null;
  /** 1: members without two-factor authentication cannot act for it (migration 0502). */
  require_two_factor: Generated<number>;
  created_by: string;
  created_at: number;
}

export type OrgRole = 'owner' | 'admin' | 'member';

export interface OrgMembersTable {
  org_id: string;
  user_id: string;
  role: OrgRole;
  created_at: number;
}

export interface GroupsTable {
  id: string;
  org_id: string;
  parent_id: string | null;
  name: string;
  welcome_message: string;
  group_type: string;
  created_at: number;
}

export type GroupRole = 'admin' | 'member';

export interface GroupMembersTable {
  id: string;
  group_id: string;
  phone: string;
  role: GroupRole;
  created_at: number;
}

export interface MessagesTable {
  /** UUIDv7: time-ordered, so it doubles as the pagination cursor. */
  id: string;
  group_id: string;
  sender_type: 'user' | 'connector';
  sender_id: string;
  sender_name: string;
  text: string;
  created_at: number;
}

export interface ConnectorsTable {
  id: string;
  org_id: string;
  created_by: string;
  name: string;
  description: string;
  /** JSON array of permission names. */
  permissions: string;
  secret_hash: string;
  /** Bumped when the secret is rotated: access tokens carry it and stop working when it moves. */
  secret_generation: number;
  created_at: number;
  updated_at: number;
  /** OAuth (migration 0100): JSON array of exact redirect URIs. */
  redirect_uris: string;
  /** Public clients (native apps, SPAs) hold no secret and must use PKCE. */
  client_type: 'confidential' | 'public';
  /** JSON array of the OAuth grant types the connector may use. */
  grant_types: string;
  /**
   * Moves when client_credentials is removed from grant_types (migration 0302): client-credentials
   * tokens carry it, so adding the grant type back does not revive them.
   */
  cc_generation: number;
}

export interface GrantsTable {
  id: string;
  connector_id: string;
  group_id: string;
  granted_by: string;
  refresh_token_hash: string | null;
  refresh_token_issued_at: number | null;
  refresh_token_expires_at: number | null;
  /**
   * After a rotation by the token service the previous refresh token keeps working until its own
   * expiry, so a client that lost the rotated answer (or raced another exchange) is not locked out.
   */
  previous_refresh_token_hash: string | null;
  previous_refresh_token_expires_at: number | null;
  /** Bumped on every new refresh token and on revocation; access tokens carry it. */
  generation: number;
  created_at: number;
  revoked_at: number | null;
}

/** A connector is an app acting with its token; a Kandy account or project acts with its API key. */
export type AuditActorType = 'user' | 'connector' | 'kandy_account' | 'kandy_project' | 'system' | 'anonymous';

export interface AuditEventsTable {
  id: string;
  org_id: string | null;
  actor_type: AuditActorType;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  created_at: number;
  /** The client's address and user agent, and what changed in a few words — never a secret (migration 0600). */
  ip: string | null;
  user_agent: string | null;
  summary: string | null;
}

// ---- webhooks (migration 0002) ----

export interface WebhooksTable {
  id: string;
  grant_id: string;
  connector_id: string;
  object_id: string;
  object_type: string;
  /** JSON array of event type names. */
  event_types: string;
  callback_url: string;
  callback_token_enc: string | null;
  callback_context: string | null;
  active: number;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

// ---- OAuth 2.0 / OpenID Connect (migration 0100) ----

export interface OAuthFamiliesTable {
  id: string;
  connector_id: string;
  /** Null for client credentials: no person is involved. */
  user_id: string | null;
  scope: string;
  auth_time: number | null;
  created_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /**
   * When a family issued without a refresh token ends (its access tokens' expiry); null while
   * refresh tokens carry it on, which end it when the last of them expires (db/retention.ts).
   */
  expires_at: number | null;
}

export interface OAuthCodesTable {
  code_hash: string;
  connector_id: string;
  user_id: string;
  redirect_uri: string;
  scope: string;
  code_challenge: string | null;
  nonce: string | null;
  auth_time: number;
  created_at: number;
  expires_at: number;
  redeemed_at: number | null;
  /** The family the first redemption created: a second redemption revokes it. */
  family_id: string | null;
}

/** One link of a family's refresh-token chain (migration 0301): spent once the next link exists. */
/** A refresh token (migration 0800): its link spends the one before it in its family's chain. */
export interface OAuthRefreshLinksTable {
  /** UUIDv7 (time-ordered); `<family id>/<position>` for a link carried over from before 0800. */
  id: string;
  family_id: string;
  /** The link this one was issued for (unique: each token is spent once); null for a family's first. */
  spends: string | null;
  token_hash: string;
  created_at: number;
  expires_at: number;
}

export interface OAuthRevokedAccessTokensTable { jti: string; expires_at: number }

export interface OAuthConsentsTable {
  user_id: string;
  connector_id: string;
  scope: string;
  created_at: number;
  updated_at: number;
}

// ---- domains and user provisioning (Kandy seed, migration 0200) ----

export interface PlansTable {
  id: string;
  name: string;
  max_users: number;
  created_at: number;
}

export interface ApiAccountsTable {
  id: string;
  org_id: string;
  plan_id: string;
  api_key: string;
  api_secret_hash: string | null;
  /** Users provisioned across the account's domains; only ever moved by a conditional UPDATE. */
  users_used: number;
  created_at: number;
}

export interface DomainsTable {
  id: string;
  account_id: string;
  org_id: string;
  domain_name: string;
  project_name: string;
  api_key: string;
  api_secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface DomainUsersTable {
  id: string;
  domain_id: string;
  account_id: string;
  user_id: string;
  country_code: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  password_hash: string;
  api_key: string;
  api_secret_hash: string;
  created_at: number;
}

export type DomainTokenKind = 'account' | 'domain' | 'user';

export interface DomainTokensTable {
  token_hash: string;
  kind: DomainTokenKind;
  account_id: string;
  domain_id: string | null;
  domain_user_id: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface IdempotencyKeysTable {
  /** Who used the key: `connector:<id>`, `domain:<id>`, `account:<id>`. */
  scope: string;
  key: string;
  /** SHA-256 of the method, route, parameters and canonical body. */
  request_hash: string;
  status: number;
  /** The answer's JSON body, AES-256-GCM under the instance key (it may hold a new secret). */
  answer_enc: string;
  created_at: number;
  expires_at: number;
}

// ---- white-label platforms (Zaikio seed, migration 0400) ----

export interface PlatformsTable {
  id: string;
  org_id: string;
  name: string;
  display_name: string;
  connector_id: string;
  primary_color: string;
  support_contact: string | null;
  logo_url: string | null;
  logo_type: string | null;
  logo_data: string | null;
  /** Where membership events go (migration 0401), if anywhere. */
  webhook_url: string | null;
  created_at: number;
  updated_at: number;
}

export type MemberType = 'Person' | 'Organization';
export type JoinedVia = 'signup' | 'consent' | 'api';

export interface PlatformMembersTable {
  platform_id: string;
  member_type: MemberType;
  member_id: string;
  joined_via: JoinedVia;
  /** The person who agreed (for an organisation, the owner who consented). */
  joined_by: string | null;
  created_at: number;
}

/** A membership event for a platform's endpoint (migration 0401): the same life as a webhook delivery. */
export interface PlatformEventDeliveriesTable {
  id: string;
  platform_id: string;
  event_id: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface PrivateAccessTokensTable {
  id: string;
  org_id: string;
  name: string;
  /** Space-separated, like OAuth scopes. */
  scope: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

// ---- e-mail (migration 0500) ----

export type EmailLinkPurpose = 'verify' | 'reset' | 'change';

export interface EmailLinksTable {
  token_hash: string;
  user_id: string;
  purpose: EmailLinkPurpose;
  email: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface MailMessagesTable {
  id: string;
  recipient: string;
  user_id: string | null;
  subject: string;
  body: string;
  /** SHA-256 of the link token the message carries: the message is blanked when the link is used. */
  link_hash: string | null;
  provider: string;
  created_at: number;
}

// ---- two-factor authentication (migration 0501) ----

export interface TwoFactorTable {
  user_id: string;
  /** The TOTP secret (base32), sealed under MASTER_KEY when one is configured (keys/sealed.ts). */
  secret_sealed: string;
  enabled_at: number | null;
  /** The last TOTP time step accepted: a code is not accepted twice. */
  last_step: number | null;
  created_at: number;
}

export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  used_at: number | null;
}

// ---- means of payment (migration 0503) ----

export interface MeansOfPaymentTable {
  org_id: string;
  kind: 'sepa_debit' | 'invoice';
  holder: string | null;
  /** The IBAN, sealed under MASTER_KEY when one is configured. */
  iban_sealed: string | null;
  /** `DE** **** **** **** **30 00`: what is ever shown. */
  iban_masked: string | null;
  bic: string | null;
  mandate_reference: string | null;
  mandate_date: number | null;
  /** JSON: {name, street, postal_code, city, country_code}. */
  billing_address: string | null;
  vat_id: string | null;
  updated_by: string;
  updated_at: number;
}

export interface Database {
  settings: SettingsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  sessions: SessionsTable;
  phone_numbers: PhoneNumbersTable;
  sms_messages: SmsMessagesTable;
  organizations: OrganizationsTable;
  org_members: OrgMembersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  messages: MessagesTable;
  connectors: ConnectorsTable;
  grants: GrantsTable;
  audit_events: AuditEventsTable;
  oauth_families: OAuthFamiliesTable;
  oauth_codes: OAuthCodesTable;
  oauth_refresh_links: OAuthRefreshLinksTable;
  oauth_revoked_access_tokens: OAuthRevokedAccessTokensTable;
  oauth_consents: OAuthConsentsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  plans: PlansTable;
  api_accounts: ApiAccountsTable;
  domains: DomainsTable;
  domain_users: DomainUsersTable;
  domain_tokens: DomainTokensTable;
  idempotency_keys: IdempotencyKeysTable;
  platforms: PlatformsTable;
  platform_members: PlatformMembersTable;
  platform_event_deliveries: PlatformEventDeliveriesTable;
  private_access_tokens: PrivateAccessTokensTable;
  email_links: EmailLinksTable;
  mail_messages: MailMessagesTable;
  two_factor: TwoFactorTable;
  recovery_codes: RecoveryCodesTable;
  means_of_payment: MeansOfPaymentTable;
  user_identities: UserIdentitiesTable;
  federated_logins: FederatedLoginsTable;
}

// ---- federated sign-in (migration 0600) ----

export interface UserIdentitiesTable {
  id: string;
  user_id: string;
  provider_id: string;
  /** The provider's stable subject: `sub`, or `<tid>/<oid>` for Entra ID. Never the e-mail. */
  subject: string;
  tenant_id: string | null;
  email: string | null;
  /** 1 when the provider asserted multi-factor authentication (`amr`) at the last sign-in. */
  mfa: Generated<number>;
  created_at: number;
  last_login_at: number | null;
}

export interface FederatedLoginsTable {
  state_hash: string;
  provider_id: string;
  binding_hash: string;
  link_user_id: string | null;
  next: string;
  platform: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

// Generated is re-exported for modules that add tables with defaults.
export type { Generated };
