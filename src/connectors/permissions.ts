// The permissions a connector can ask for. They are also the scope strings in its access tokens
// and the OAuth scopes it may request. Each one maps to platform API operations in kaizala/.
export const PERMISSIONS = {
  'groupinfo.read': 'Read group information and subgroups',
  'groupinfo.write': 'Create subgroups',
  'groupmember.read': 'Read the member list',
  'groupmember.write': 'Add members',
  'groupmember.remove': 'Remove members',
  'textmessage.read': 'Read text messages',
  'textmessage.write': 'Send text messages',
  'webhook.read': 'List its webhooks',
  'webhook.write': 'Register, change and delete webhooks (events of the granted group)',
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}
