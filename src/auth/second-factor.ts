// The seam where an organisation's "requires two-factor authentication" setting will be enforced
// (the Zaikio seed recommends it for a platform owner organisation). Every action the seed names
// for it — acting for the organisation in the portal, consenting to `Org/<uuid>.` scopes, making
// private access tokens — asks this one function; today no organisation can require 2FA, so it
// allows everything, and the issue that adds 2FA fills it in here and nowhere else.
import type { Actor } from './policy.js';

export type SecondFactorAction = 'create_private_token' | 'consent_for_org' | 'act_for_org';

export async function requireSecondFactor(_actor: Actor, _orgId: string, _action: SecondFactorAction): Promise<void> {
  // Nothing to enforce until organisations can require two-factor authentication.
}
