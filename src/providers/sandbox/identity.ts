/**
 * The account holder's identity profile. Seeded by the login alone (not the institution): the
 * same person connecting two sandbox banks gets the same name and address, as in real life, so
 * Causeway's profile merging can be exercised.
 */
import type { ProviderIdentity } from '../types.js';
import { FIRST_NAMES, LAST_NAMES, STREETS } from './catalogue.js';
import { homeOf } from './persona.js';
import { Rng, at, hashString } from './random.js';

function digits(rng: Rng, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(rng.int(0, 9));
  return out;
}

/** Lower-case letters only, for the local part of an email address. */
function emailPart(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

export function generateIdentity(login: string): ProviderIdentity {
  // The home suburb is the one the persona's card statements mostly show.
  const { city, suburbs } = homeOf(login);
  const suburb = at(suburbs, 0);

  const rng = new Rng(hashString(`identity|${login}`));
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const names = [`${first} ${last}`];

  // example.com/.net are reserved for documentation (RFC 2606): sandbox mail never reaches anyone.
  const emails = [{ address: `${emailPart(first)}.${emailPart(last)}@example.com`, primary: true }];
  if (rng.chance(0.5)) {
    emails.push({ address: `${emailPart(first).slice(0, 1)}${emailPart(last)}${rng.int(10, 99)}@example.net`, primary: false });
  }

  const phones: ProviderIdentity['phones'] = [
    { number: `+61 4${digits(rng, 2)} ${digits(rng, 3)} ${digits(rng, 3)}`, type: 'mobile', primary: true },
  ];
  if (rng.chance(0.4)) {
    phones.push({ number: `+61 ${city.areaCode} ${digits(rng, 4)} ${digits(rng, 4)}`, type: 'home', primary: false });
  }

  const unit = rng.chance(0.35) ? `${rng.int(1, 24)}/` : '';
  const addresses: ProviderIdentity['addresses'] = [{
    line1: `${unit}${rng.int(1, 180)} ${rng.pick(STREETS)}`, city: suburb.name, region: city.state,
    postalCode: suburb.postcode, country: 'AU', primary: true,
  }];
  if (rng.chance(0.3)) {
    // A previous address elsewhere in the same city.
    const before = rng.pick(city.suburbs);
    addresses.push({
      line1: `${rng.int(1, 180)} ${rng.pick(STREETS)}`, city: before.name, region: city.state,
      postalCode: before.postcode, country: 'AU', primary: false,
    });
  }
  return { names, emails, phones, addresses };
}
