// Wires the services together. Each receives its dependencies explicitly.
import type { Deps } from './deps.js';
import { AccountsService } from './accounts/accounts.service.js';
import { PhonesService } from './phones/phones.service.js';
import { OrgsService } from './orgs/orgs.service.js';
import { ConnectorsService } from './connectors/connectors.service.js';
import { GrantsService } from './grants/grants.service.js';
import { TokenService } from './kaizala/token.service.js';
import { PlatformTokens } from './kaizala/access-tokens.js';
import { PlatformService } from './kaizala/platform.service.js';
import { OAuthService } from './oauth/oauth.service.js';
import { DomainsService, provisionAccount } from './kandy/domains.service.js';
import { PlansService } from './kandy/plans.service.js';
import { WebhookEvents } from './webhooks/events.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { Idempotency } from './idempotency/idempotency.js';
import { PlatformsService } from './platforms/platforms.service.js';
import { MembershipsService } from './platforms/memberships.js';
import { PlatformApi } from './platforms/platform-api.js';
import { DirectoryService } from './zaikio/directory.js';
import { PrivateTokensService } from './private-tokens/private-tokens.service.js';
import { EmailLinks } from './identity/email-links.js';
import { TwoFactor } from './identity/two-factor.js';
import { MeansOfPaymentService } from './payments/means-of-payment.js';
import type { Sealer } from './keys/sealed.js';
import { FederationService } from './federation/federation.service.js';
import { AuditLogService } from './audit/audit.service.js';

export interface Services {
  deps: Deps;
  accounts: AccountsService;
  phones: PhonesService;
  orgs: OrgsService;
  connectors: ConnectorsService;
  grants: GrantsService;
  tokens: TokenService;
  platformTokens: PlatformTokens;
  platform: PlatformService;
  oauth: OAuthService;
  domains: DomainsService;
  plans: PlansService;
  webhooks: WebhooksService;
  webhookDispatcher: WebhookDispatcher;
  idempotency: Idempotency;
  platforms: PlatformsService;
  memberships: MembershipsService;
  directory: DirectoryService;
  platformApi: PlatformApi;
  privateTokens: PrivateTokensService;
  emailLinks: EmailLinks;
  twoFactor: TwoFactor;
  meansOfPayment: MeansOfPaymentService;
  federation: FederationService;
  auditLog: AuditLogService;
}

export interface InstanceKeys {
  /** Encrypts webhook callback tokens and derives webhook signing secrets. */
  webhookKey: Buffer;
  /** Encrypts the answers remembered for Idempotency-Keys (they may hold a new secret). */
  idempotencyKey: Buffer;
  /** Derives the PKCE verifier and nonce of a federated sign-in from its state. */
  federationKey: Buffer;
}

export function createServices(deps: Deps, keys: InstanceKeys, sealer: Sealer): Services {
  const events = new WebhookEvents(deps);
  const orgs = new OrgsService(deps, events, provisionAccount);
  const platform = new PlatformService(deps, orgs, events);
  const platformTokens = new PlatformTokens(deps);
  const accounts = new AccountsService(deps);
  const platforms = new PlatformsService(deps, keys.webhookKey);
  const memberships = new MembershipsService(deps);
  const meansOfPayment = new MeansOfPaymentService(deps, sealer);
  const directory = new DirectoryService(deps, accounts, orgs, memberships, meansOfPayment);
  return {
    deps,
    accounts,
    platforms,
    memberships,
    directory,
    platformApi: new PlatformApi(deps, platforms, memberships, directory),
    privateTokens: new PrivateTokensService(deps),
    emailLinks: new EmailLinks(deps, accounts),
    twoFactor: new TwoFactor(deps, sealer, accounts),
    meansOfPayment,
    federation: new FederationService(deps, accounts, keys.federationKey),
    auditLog: new AuditLogService(deps),
    phones: new PhonesService(deps),
    orgs,
    connectors: new ConnectorsService(deps),
    grants: new GrantsService(deps, orgs),
    tokens: new TokenService(deps, platformTokens),
    platformTokens,
    oauth: new OAuthService(deps),
    platform,
    domains: new DomainsService(deps),
    plans: new PlansService(deps),
    webhooks: new WebhooksService(deps, platform, keys.webhookKey),
    webhookDispatcher: new WebhookDispatcher(deps, keys.webhookKey),
    idempotency: new Idempotency(deps, keys.idempotencyKey),
  };
}
