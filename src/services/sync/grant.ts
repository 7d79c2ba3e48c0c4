/** A connection's access at its provider: read for every call, and written when a link is granted (the return route, an import job). */
import type { ConnectionRow } from '../../db/repos/connections.js';
import type { AuthorizationGrant, ProviderAccess, ProviderLink } from '../../providers/types.js';
import type { Core } from '../core.js';

/** The provider's own id for the connection's institution (rows from before the catalogue hold the sandbox's, which is the same). */
export function providerInstitutionOf(c: Pick<ConnectionRow, 'providerInstitutionId' | 'institutionId'>): string {
  return c.providerInstitutionId ?? c.institutionId;
}

/** The access a grant gives: its token, and the provider's id for the link. */
export function grantAccess(grant: AuthorizationGrant): ProviderAccess {
  return { kind: 'token', token: grant.token, ...(grant.itemId ? { itemId: grant.itemId } : {}) };
}

/** What the provider needs to reach the connection's data: its own institution id and the access, decrypted. */
export function linkOf(core: Core, c: ConnectionRow): ProviderLink {
  const access = c.accessEnc ? (JSON.parse(core.cipher.decrypt(c.accessEnc)) as ProviderAccess | { kind: 'grant' }) : null;
  return {
    institutionId: providerInstitutionOf(c),
    access: access && access.kind !== 'grant' ? access : { kind: 'token', token: '' },
    firstSyncedAt: c.firstSyncedAt,
  };
}

/** The connection's new access, consent dates and the provider's id for the link. */
export function grantPatch(core: Core, grant: AuthorizationGrant) {
  return {
    accessEnc: core.cipher.encrypt(JSON.stringify(grantAccess(grant))),
    consentGrantedAt: grant.grantedAt,
    consentExpiresAt: grant.expiresAt,
    ...(grant.itemId ? { itemId: grant.itemId } : {}),
  };
}

/** The consent.granted event's data. */
export function grantEventData(grant: AuthorizationGrant, extra: { renewed: boolean; imported: boolean; jobId: string | null }) {
  return { grantedAt: grant.grantedAt.toISOString(), expiresAt: grant.expiresAt?.toISOString() ?? null, ...extra };
}

/** Where a provider sends its webhooks for links Causeway made: only when Causeway has a public address (CAUSEWAY_PUBLIC_URL). */
export function providerWebhookUrl(core: Core, providerId: string): string | null {
  return core.config.publicUrl ? `${core.config.publicUrl}/v1/providers/${encodeURIComponent(providerId)}/webhooks` : null;
}
