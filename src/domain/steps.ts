/** Which steps a job runs, in order, from what it is for (PRODUCT.md §3 step names). */
import type { JobStep, JobType, Method, Product, StepName } from './types.js';

const PRODUCT_STEPS: [Product, StepName][] = [
  ['transactions', 'retrieve-transactions'],
  ['identity', 'retrieve-identity'],
  ['investments', 'retrieve-investments'],
];

/** Steps whose failure fails the job; the rest are best-effort and give `partial_data`. */
const REQUIRED_STEPS: ReadonlySet<StepName> = new Set(['verify-credentials', 'authorize', 'retrieve-accounts', 'retrieve-transactions']);

/** Whether a failed step fails the job. Products added to a connection are fetched best-effort: only access and accounts are required then. */
export function isRequiredStep(type: JobType, step: StepName): boolean {
  if (type === 'update_products') return step === 'verify-credentials' || step === 'authorize' || step === 'retrieve-accounts';
  return REQUIRED_STEPS.has(step);
}

/** Accounts come with every link and every refresh: every other product hangs off them. */
export function withAccountsProduct(products: readonly Product[]): Product[] {
  return products.includes('accounts') ? [...products] : ['accounts', ...products];
}

export function planSteps(type: JobType, method: Method, products: readonly Product[]): JobStep[] {
  const names: StepName[] = [];
  if (method === 'web') names.push('verify-credentials');
  else if (type === 'create' || type === 'repair' || type === 'import') names.push('authorize');
  // Accounts come first whatever was asked: every other product hangs off them.
  names.push('retrieve-accounts');
  for (const [product, step] of PRODUCT_STEPS) if (products.includes(product)) names.push(step);
  return names.map((name) => ({ name, status: 'pending', resultCode: null, startedAt: null, finishedAt: null }));
}
