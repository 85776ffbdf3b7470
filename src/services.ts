// Wires the services together. Each receives its dependencies explicitly.
import type { Deps } from './deps.js';
import { AccountsService } from './accounts/accounts.service.js';
import { PhonesService } from './phones/phones.service.js';
import { OrgsService } from './orgs/orgs.service.js';
import { ConnectorsService } from './connectors/connectors.service.js';
import { GrantsService } from './grants/grants.service.js';
import { TokenService } from './kaizala/token.service.js';
import { PlatformService } from './kaizala/platform.service.js';
import { DomainsService } from './kandy/domains.service.js';

export interface Services {
  deps: Deps;
  accounts: AccountsService;
  phones: PhonesService;
  orgs: OrgsService;
  connectors: ConnectorsService;
  grants: GrantsService;
  tokens: TokenService;
  platform: PlatformService;
  domains: DomainsService;
}

export function createServices(deps: Deps): Services {
  const orgs = new OrgsService(deps);
  return {
    deps,
    accounts: new AccountsService(deps),
    phones: new PhonesService(deps),
    orgs,
    connectors: new ConnectorsService(deps),
    grants: new GrantsService(deps, orgs),
    tokens: new TokenService(deps),
    platform: new PlatformService(deps, orgs),
    domains: new DomainsService(deps),
  };
}
