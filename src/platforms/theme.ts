// A platform's look for the pages shown under its name: the white-label pages, and the pages of a
// sign-in that began there and comes back through Tessera's own callback (federation/pages.ts).
import type { Theme } from '../portal/views/layout.js';
import type { Platform } from './platforms.service.js';

export function themeOf(p: Platform, here: string): Theme {
  return {
    name: p.display_name, color: p.primary_color, support: p.support_contact,
    logo: p.has_logo ? `/${p.name}/logo?v=${p.updated_at}` : p.logo_url, base: `/${p.name}`, here,
  };
}
