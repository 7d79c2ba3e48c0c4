/**
 * Request shape checks, answered the way Plaid answers them: a missing required field is
 * 400 INVALID_REQUEST / MISSING_FIELDS, a field the endpoint does not know is UNKNOWN_FIELDS
 * (Plaid is strict about this, and it catches a misspelt field in our adapter), a wrong type is
 * INVALID_FIELD. Only top-level fields are checked; `scripts/check-plaid-fake-spec.ts` compares
 * these lists with the spec's request schemas.
 */
import { fail } from './errors.js';

export type Rule = 'string' | 'string[]' | 'integer' | 'boolean' | 'object' | 'any';

export interface EndpointShape { required: string[]; fields: Record<string, Rule> }

const auth: Record<string, Rule> = { client_id: 'string', secret: 'string' };
const tokenOnly: EndpointShape = { required: ['access_token'], fields: { ...auth, access_token: 'string' } };

/** Every top-level field Plaid accepts on /link/token/create; the ones the fake uses are typed. */
const LINK_TOKEN_CREATE_FIELDS = ['user_id', 'required_if_supported_products', 'optional_products', 'additional_consented_products',
  'access_tokens', 'link_customization_name', 'appearance_mode', 'android_package_name', 'institution_data', 'card_switch',
  'account_filters', 'eu_config', 'payment_configuration', 'payment_initiation', 'employment', 'income_verification', 'base_report',
  'credit_partner_insights', 'cra_options', 'consumer_report_permissible_purpose', 'auth', 'transfer', 'identity_verification',
  'statements', 'third_party_user_token', 'investments', 'investments_auth', 'transactions', 'cashflow_report', 'cra_enabled',
  'identity', 'financekit_supported', 'enable_multi_item_link', 'user_token'];

export const SHAPES: Record<string, EndpointShape> = {
  '/link/token/create': {
    required: ['client_name', 'language', 'country_codes'],
    fields: {
      ...auth, ...Object.fromEntries(LINK_TOKEN_CREATE_FIELDS.map((f) => [f, 'any' as const])),
      client_name: 'string', language: 'string', country_codes: 'string[]', user: 'object', products: 'string[]',
      webhook: 'string', access_token: 'string', redirect_uri: 'string', institution_id: 'string', hosted_link: 'object', update: 'object',
    },
  },
  '/link/token/get': { required: ['link_token'], fields: { ...auth, link_token: 'string' } },
  '/item/public_token/exchange': { required: ['public_token'], fields: { ...auth, public_token: 'string' } },
  '/item/get': tokenOnly,
  '/item/remove': { required: ['access_token'], fields: { ...auth, access_token: 'string', reason_code: 'string', reason_note: 'string' } },
  '/item/webhook/update': { required: ['access_token'], fields: { ...auth, access_token: 'string', webhook: 'string' } },
  '/accounts/get': { required: ['access_token'], fields: { ...auth, access_token: 'string', options: 'object' } },
  '/accounts/balance/get': { required: ['access_token'], fields: { ...auth, access_token: 'string', options: 'object' } },
  '/identity/get': { required: ['access_token'], fields: { ...auth, access_token: 'string', options: 'object' } },
  '/transactions/sync': { required: ['access_token'], fields: { ...auth, access_token: 'string', cursor: 'string', count: 'integer', options: 'object' } },
  '/institutions/get': { required: ['count', 'offset', 'country_codes'], fields: { ...auth, count: 'integer', offset: 'integer', country_codes: 'string[]', options: 'object' } },
  '/institutions/get_by_id': { required: ['institution_id', 'country_codes'], fields: { ...auth, institution_id: 'string', country_codes: 'string[]', options: 'object' } },
  '/webhook_verification_key/get': { required: ['key_id'], fields: { ...auth, key_id: 'string' } },
  '/sandbox/public_token/create': { required: ['institution_id', 'initial_products'], fields: { ...auth, institution_id: 'string', initial_products: 'string[]', options: 'object', user_token: 'string', user_id: 'string' } },
  '/sandbox/item/reset_login': tokenOnly,
  '/sandbox/item/fire_webhook': { required: ['access_token', 'webhook_code'], fields: { ...auth, access_token: 'string', webhook_type: 'string', webhook_code: 'string' } },
};

function matches(rule: Rule, v: unknown): boolean {
  switch (rule) {
    case 'string': return typeof v === 'string';
    case 'string[]': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'any': return true;
  }
}

const absent = (v: unknown) => v === undefined || v === null || v === '';

export function validateBody(path: string, body: Record<string, unknown>): void {
  const shape = SHAPES[path];
  if (!shape) return;
  const unknown = Object.keys(body).filter((k) => !(k in shape.fields));
  if (unknown.length) fail('UNKNOWN_FIELDS', `the following fields are not recognized by this endpoint: ${unknown.join(', ')}`);
  const missing = shape.required.filter((k) => absent(body[k]));
  if (missing.length) fail('MISSING_FIELDS', `the following required fields are missing: ${missing.join(', ')}`);
  for (const [k, rule] of Object.entries(shape.fields)) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    if (!matches(rule, v)) fail('INVALID_FIELD', `${k} must be ${rule === 'string[]' ? 'an array of strings' : rule === 'integer' ? 'an integer' : `a${rule === 'object' ? 'n' : ''} ${rule}`}`);
  }
}
