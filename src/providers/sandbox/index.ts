/** The sandbox provider: a deterministic institution simulator (PRODUCT.md §5). */
export {
  createSandboxProvider, type SandboxProvider, flakyRunFails, CONSENT_DAYS, EXPIRING_DAYS, GOOD_PASSWORD, MFA_CODE, MFA_PROMPT,
  OPENBANKING_PERSONAS, SANDBOX_PROVIDER_ID, sandboxPostedBalance,
} from './provider.js';
export { SANDBOX_INSTITUTIONS, findSandboxInstitution, sandboxInstitutions, type SandboxInstitution } from './institutions.js';
