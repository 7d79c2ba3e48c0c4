/** Where the dashboard is: a section, and a user or connection opened in it. */
import type { Api } from '../shared/api';

export const TABS = ['Overview', 'Users', 'Connections', 'Webhooks', 'Institutions'] as const;
export type Tab = (typeof TABS)[number];

/** `status`: the connections list opened on one status (from the overview). */
export interface Nav { tab: Tab; userId?: string; status?: string; connectionId?: string; connectionUserId?: string }
export interface SectionProps { api: Api; nav: Nav; setNav: (n: Nav) => void }
