// Every authorisation decision about people in the portal is made here, from plain data, so the
// rules can be read in one place and tested without HTTP.
import type { GroupRole, OrgRole } from '../db/schema.js';

export interface Actor {
  userId: string;
  /** Verified phone numbers (E.164): group membership and group admin rights follow the number. */
  phones: string[];
  orgRoles: Map<string, OrgRole>;
}

export type Action =
  | 'org.read'
  | 'org.manage_members'
  | 'org.manage_groups'
  | 'org.manage_connectors'
  | 'org.manage_projects'
  | 'group.read'
  | 'group.manage';

export interface OrgResource { orgId: string }
export interface GroupResource { orgId: string; groupRolesByPhone: Map<string, GroupRole> }

const isOrgAdmin = (actor: Actor, orgId: string): boolean => {
  const role = actor.orgRoles.get(orgId);
  return role === 'owner' || role === 'admin';
};

export function can(actor: Actor, action: Action, resource: OrgResource | GroupResource): boolean {
  switch (action) {
    case 'org.read':
      return actor.orgRoles.has(resource.orgId);
    case 'org.manage_members':
    case 'org.manage_groups':
    case 'org.manage_connectors':
    case 'org.manage_projects':
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
  }
}
