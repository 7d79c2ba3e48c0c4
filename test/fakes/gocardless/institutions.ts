/**
 * The fake's banks: a handful per country, in GoCardless's Integration shape (day counts as strings,
 * as the real API sends them). MERIDIAN gives only 30 days of history and 30 days of consent, for
 * tests of the clamps; NOVA serves many countries, as the big neobanks do.
 */

export interface FakeInstitution {
  id: string;
  name: string;
  bic: string;
  transaction_total_days: string;
  max_access_valid_for_days: string;
  max_access_valid_for_days_reconfirmation: string;
  countries: string[];
  logo: string;
  supported_features: string[];
  /** The currency of the accounts its customers hold. */
  currency: string;
  /** Two-letter country prefix and bank code for the IBANs of its accounts. */
  ibanCountry: string;
}

/** Countries GoCardless accepts in ?country= (others are 400 "not a valid choice"). */
export const COUNTRIES = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IS', 'IE', 'IT', 'LV', 'LI', 'LT', 'LU',
  'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'GB',
];

const FEATURES = ['account_selection', 'business_accounts', 'card_accounts', 'private_accounts', 'pending_transactions'];

function inst(id: string, name: string, countries: string[], total: number, access: number, currency: string): FakeInstitution {
  const bic = id.split('_')[1] ?? 'FAKEXX00';
  return {
    id, name, bic,
    transaction_total_days: String(total),
    max_access_valid_for_days: String(access),
    max_access_valid_for_days_reconfirmation: String(Math.min(730, access * 2)),
    countries,
    logo: `https://cdn-logos.gocardless.com/ais/${id}.png`,
    supported_features: FEATURES,
    currency,
    ibanCountry: countries[0]!,
  };
}

export const INSTITUTIONS: readonly FakeInstitution[] = [
  inst('HARBOUR_HRBRGB2L', 'Harbour Bank', ['GB'], 730, 180, 'GBP'),
  inst('THAMES_THMSGB21', 'Thames Building Society', ['GB'], 90, 90, 'GBP'),
  inst('MERIDIAN_MRDNGB21', 'Meridian Savings', ['GB'], 30, 30, 'GBP'),
  inst('ALPENBANK_ALPNDEFF', 'Alpenbank', ['DE'], 540, 180, 'EUR'),
  inst('RHEIN_RHNSDE33', 'Rheinische Sparkasse', ['DE'], 90, 90, 'EUR'),
  inst('LUMIERE_LUMIFRPP', 'Banque Lumière', ['FR'], 365, 180, 'EUR'),
  inst('POLDER_PLDRNL2A', 'Polderbank', ['NL'], 730, 180, 'EUR'),
  inst('SOLBANK_SOLBESMM', 'Solbank', ['ES'], 90, 90, 'EUR'),
  inst('FJORD_FJRDSE22', 'Fjordbanken', ['SE'], 365, 90, 'SEK'),
  inst('NOVA_NOVADEB1', 'Nova Bank', ['DE', 'FR', 'NL', 'ES', 'IT', 'AT', 'BE', 'IE'], 90, 180, 'EUR'),
];

export function institution(id: string): FakeInstitution | undefined {
  return INSTITUTIONS.find((i) => i.id === id);
}

/**
 * Integration (list) and IntegrationRetrieve (by id) JSON. Both carry supported_features and
 * identification_codes, as the spec's examples of both endpoints (and the live API) do, although the
 * list's schema does not declare them.
 */
export function institutionJson(i: FakeInstitution): Record<string, unknown> {
  return {
    id: i.id, name: i.name, bic: i.bic, transaction_total_days: i.transaction_total_days,
    max_access_valid_for_days: i.max_access_valid_for_days, max_access_valid_for_days_reconfirmation: i.max_access_valid_for_days_reconfirmation,
    countries: [...i.countries], logo: i.logo, supported_features: [...i.supported_features], identification_codes: [],
  };
}
