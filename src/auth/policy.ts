// Every authorisation decision about people in the portal is made here, from plain data, so the
// rules can be read in one place and tested without HTTP.
import type { GroupRole, OrgRole } from '../db/schema.js';
import type { ClientInfo } from '../audit/audit-log.js';

export interface Actor {
  userId: string;
  /** Verified phone numbers (E.164): group membership and group admin rights follow the number. */
  phones: string[];
  /** Organisations the person may act for (auth/second-factor.ts leaves out those that require 2FA they lack). */
  orgRoles: Map<string, OrgRole>;
  /** Organisations the person belongs to but may act for only once they turn on 2FA. */
  needsSecondFactor?: ReadonlySet<string>;
  /** Where the person acts from, for the audit log (set by the portal). */
  client?: ClientInfo;
}

export type Action =
  | 'org.read'
  | 'org.read_audit'
  | 'org.leave'
  | 'org.manage_members'
  | 'org.manage_owners'
  | 'org.manage_groups'
  | 'org.manage_connectors'
  | 'org.manage_projects'
  | 'org.grant_app_access'
  | 'org.manage_platforms'
  | 'org.manage_private_tokens'
  | 'org.join_platform'
  | 'group.read'
  | 'group.manage'
  | 'group.leave';

export interface OrgResource { orgId: string }
export interface GroupResource { orgId: string; groupRolesByPhone: Map<string, GroupRole> }
/** One membership of a group, for leaving it. */
export interface GroupMemberResource extends GroupResource { memberPhone: string }

const isOrgAdmin = (actor: Actor, orgId: string): boolean => {
  const role = actor.orgRoles.get(orgId);
  return role === 'owner' || role === 'admin';
};

export function can(actor: Actor, action: Action, resource: OrgResource | GroupResource | GroupMemberResource): boolean {
  switch (action) {
    case 'org.read':
    case 'org.leave':
      return actor.orgRoles.has(resource.orgId);
    // Admins manage members and roles below owner; only owners make, unmake or remove owners, so
    // an admin can neither promote themselves nor push the owners out.
    // Private access tokens act for the whole organisation without a person behind each call,
    // and making the organisation a platform member hands its directory entry to a vendor: the
    // seed leaves both to owners.
    case 'org.manage_owners':
    case 'org.manage_private_tokens':
    case 'org.join_platform':
      return actor.orgRoles.get(resource.orgId) === 'owner';
    // org.grant_app_access: Zaikio lets only an organisation's owners and admins grant an app
    // access to it (an `Org/<uuid>.` scope), and a refresh keeps it only while they still are.
    case 'org.read_audit':
    case 'org.manage_members':
    case 'org.manage_groups':
    case 'org.manage_connectors':
    case 'org.manage_projects':
    case 'org.manage_platforms':
    case 'org.grant_app_access':
      return isOrgAdmin(actor, resource.orgId);
    case 'group.read': {
      if (actor.orgRoles.has(resource.orgId)) return true;
      const roles = (resource as GroupResource).groupRolesByPhone;
      return actor.phones.some((p) => roles.has(p));
    }
    case 'group.manage': {
      // Org owners and admins manage every group; otherwise a group admin is recognised by a
      // verified phone number listed as admin in that group (the seed's "group admin").
      if (isOrgAdmin(actor, resource.orgId)) return true;
      const roles = (resource as GroupResource).groupRolesByPhone;
      return actor.phones.some((p) => roles.get(p) === 'admin');
    }
    case 'group.leave':
      // Membership follows the number: whoever verified it may take it out of the group.
      return actor.phones.includes((resource as GroupMemberResource).memberPhone);
  }
}
