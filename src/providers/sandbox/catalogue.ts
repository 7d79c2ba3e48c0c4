/**
 * Reference data the sandbox draws from: Australian places, people's names, merchants and the
 * categories Causeway will see. Kept apart from the generator so the logic stays readable.
 * Merchant names are real-looking on purpose: enrichment and UI work need familiar data.
 */

export interface Suburb {
  name: string;
  postcode: string;
}

export interface City {
  name: string;
  state: string;
  /** Landline area code, for home phone numbers. */
  areaCode: string;
  /** The public transport operator, and how its fares appear on a statement. */
  transitOperator: string;
  transit: string;
  suburbs: readonly Suburb[];
}

export const CITIES: readonly City[] = [
  {
    name: 'Sydney', transitOperator: 'Transport for NSW', state: 'NSW', areaCode: '2', transit: 'TRANSPORTFORNSW OPAL',
    suburbs: [
      { name: 'Newtown', postcode: '2042' }, { name: 'Surry Hills', postcode: '2010' },
      { name: 'Parramatta', postcode: '2150' }, { name: 'Chatswood', postcode: '2067' },
      { name: 'Bondi Junction', postcode: '2022' }, { name: 'Marrickville', postcode: '2204' },
    ],
  },
  {
    name: 'Melbourne', transitOperator: 'Public Transport Victoria', state: 'VIC', areaCode: '3', transit: 'MYKI TOP UP',
    suburbs: [
      { name: 'Fitzroy', postcode: '3065' }, { name: 'Brunswick', postcode: '3056' },
      { name: 'Richmond', postcode: '3121' }, { name: 'St Kilda', postcode: '3182' },
      { name: 'Footscray', postcode: '3011' }, { name: 'Box Hill', postcode: '3128' },
    ],
  },
  {
    name: 'Brisbane', transitOperator: 'Translink', state: 'QLD', areaCode: '7', transit: 'TRANSLINK GO CARD',
    suburbs: [
      { name: 'Fortitude Valley', postcode: '4006' }, { name: 'West End', postcode: '4101' },
      { name: 'Paddington', postcode: '4064' }, { name: 'Chermside', postcode: '4032' },
      { name: 'Indooroopilly', postcode: '4068' },
    ],
  },
  {
    name: 'Perth', transitOperator: 'Transperth', state: 'WA', areaCode: '8', transit: 'TRANSPERTH SMARTRIDER',
    suburbs: [
      { name: 'Fremantle', postcode: '6160' }, { name: 'Subiaco', postcode: '6008' },
      { name: 'Leederville', postcode: '6007' }, { name: 'Joondalup', postcode: '6027' },
    ],
  },
  {
    name: 'Adelaide', transitOperator: 'Adelaide Metro', state: 'SA', areaCode: '8', transit: 'ADELAIDE METRO',
    suburbs: [
      { name: 'Norwood', postcode: '5067' }, { name: 'Glenelg', postcode: '5045' },
      { name: 'Prospect', postcode: '5082' }, { name: 'Unley', postcode: '5061' },
    ],
  },
  {
    name: 'Canberra', transitOperator: 'Transport Canberra', state: 'ACT', areaCode: '2', transit: 'TRANSPORT CANBERRA MYWAY',
    suburbs: [
      { name: 'Braddon', postcode: '2612' }, { name: 'Belconnen', postcode: '2617' },
      { name: 'Kingston', postcode: '2604' },
    ],
  },
];

export const FIRST_NAMES = [
  'Olivia', 'Jack', 'Charlotte', 'William', 'Amelia', 'Noah', 'Isla', 'Thomas', 'Mia', 'James',
  'Ava', 'Lachlan', 'Grace', 'Oliver', 'Chloe', 'Lucas', 'Zoe', 'Ethan', 'Priya', 'Wei', 'Aisha',
  'Mateo', 'Sienna', 'Harrison', 'Ruby', 'Arjun', 'Mei', 'Liam',
] as const;

export const LAST_NAMES = [
  'Smith', 'Nguyen', 'Williams', 'Brown', 'Wilson', 'Taylor', 'Johnson', 'White', 'Martin',
  'Anderson', 'Thompson', 'Walker', 'Harris', 'Lee', 'Ryan', 'Robinson', 'Kelly', 'King', 'Chen',
  'Patel', "O'Brien", 'Murphy', 'Singh', 'Campbell', 'Mitchell',
] as const;

export const STREETS = [
  'King Street', 'George Street', 'Victoria Road', 'Albert Street', 'Church Street', 'High Street',
  'Station Street', 'Park Road', 'Railway Parade', 'Wattle Avenue', 'Banksia Crescent', 'Ocean Street',
] as const;

/** Fictional employers: salary credits should not name a real company as someone's payer. */
export const EMPLOYERS = [
  'Tasman Engineering Pty Ltd', 'Bluegum Health Services', 'Southern Cross Logistics',
  'Harbourline Consulting', 'Kookaburra Software Pty Ltd', 'Coral Coast Education',
] as const;

export const LETTING_AGENTS = ['Ray White Rentals', 'LJ Hooker Property Mgmt', 'McGrath Leasing', 'Belle Property'] as const;

/** Category codes the sandbox emits (snake_case, one level, like most aggregators' primary category). */
export type Category =
  | 'income' | 'transfer' | 'credit_card_payment' | 'loan_payment' | 'loan_disbursement' | 'interest' | 'rent' | 'groceries'
  | 'coffee' | 'restaurants' | 'takeaway' | 'fuel' | 'public_transport' | 'rideshare' | 'shopping'
  | 'health' | 'insurance' | 'subscriptions' | 'phone_internet' | 'utilities' | 'fitness' | 'travel' | 'cash';

export interface Merchant {
  name: string;
  /** Statement text; `local` merchants get a suburb and state appended. */
  label: string;
  category: Category;
  local: boolean;
  /** Typical spend per visit in cents (spend is drawn between these). */
  min: number;
  max: number;
}

function m(name: string, label: string, category: Category, min: number, max: number, local = true): Merchant {
  return { name, label, category, local, min, max };
}

export const GROCERS = [
  m('Woolworths', 'WOOLWORTHS', 'groceries', 2500, 17500), m('Coles', 'COLES', 'groceries', 2500, 17500),
  m('Aldi', 'ALDI STORES', 'groceries', 2000, 12000), m('IGA', 'IGA', 'groceries', 800, 6000),
  m('Harris Farm Markets', 'HARRIS FARM', 'groceries', 1500, 9000),
] as const;

export const CAFES = [
  m('The Coffee Club', 'THE COFFEE CLUB', 'coffee', 450, 1400), m("Gloria Jean's", 'GLORIA JEANS', 'coffee', 450, 900),
  m('Starbucks', 'STARBUCKS', 'coffee', 550, 950), m('Market Lane Coffee', 'MARKET LANE', 'coffee', 450, 700),
  m('Single O', 'SINGLE O', 'coffee', 450, 700),
] as const;

/** Small everyday purchases: someone buys at least a little something most days. */
export const CONVENIENCE = [
  m('7-Eleven', '7-ELEVEN', 'groceries', 300, 1400), m('Bakers Delight', 'BAKERS DELIGHT', 'groceries', 450, 1600),
  m('Woolworths Metro', 'WOOLWORTHS METRO', 'groceries', 500, 2800), m('NewsXpress', 'NEWSXPRESS', 'shopping', 400, 1800),
] as const;

export const FUEL = [
  m('Ampol', 'AMPOL', 'fuel', 4500, 11500), m('BP', 'BP', 'fuel', 4500, 11500),
  m('Shell', 'SHELL COLES EXPRESS', 'fuel', 4500, 11500), m('7-Eleven', '7-ELEVEN', 'fuel', 3500, 9500),
] as const;

export const PHARMACIES = [
  m('Chemist Warehouse', 'CHEMIST WAREHOUSE', 'health', 900, 6500), m('Priceline Pharmacy', 'PRICELINE PHARMACY', 'health', 900, 5000),
] as const;

export const RESTAURANTS = [
  m("Grill'd", 'GRILLD', 'restaurants', 1800, 6500), m('Guzman y Gomez', 'GUZMAN Y GOMEZ', 'restaurants', 1500, 4500),
  m("Nando's", 'NANDOS', 'restaurants', 1800, 6000), m('Sushi Train', 'SUSHI TRAIN', 'restaurants', 2000, 7000),
  m('Mad Mex', 'MAD MEX', 'restaurants', 1500, 4000), m('Din Tai Fung', 'DIN TAI FUNG', 'restaurants', 4500, 16000),
] as const;

export const DELIVERY = [
  m('Uber Eats', 'UBER *EATS HELP.UBER.COM', 'takeaway', 2000, 6500, false),
  m('DoorDash', 'DOORDASH SYDNEY', 'takeaway', 2000, 6000, false),
  m('Menulog', 'MENULOG PTY LTD', 'takeaway', 2000, 5500, false),
] as const;

export const SHOPS = [
  m('Kmart', 'KMART', 'shopping', 800, 12000), m('Target', 'TARGET', 'shopping', 1500, 15000),
  m('JB Hi-Fi', 'JB HI FI', 'shopping', 2500, 45000), m('Bunnings Warehouse', 'BUNNINGS', 'shopping', 1500, 25000),
  m('Officeworks', 'OFFICEWORKS', 'shopping', 1000, 15000), m('Big W', 'BIG W', 'shopping', 1000, 12000),
  m('Amazon Australia', 'AMAZON AU SYDNEY SOUTH', 'shopping', 1500, 15000, false),
] as const;

export const RIDESHARE = [
  m('Uber', 'UBER *TRIP HELP.UBER.COM', 'rideshare', 1200, 5500, false), m('DiDi', 'DIDI MOBILITY', 'rideshare', 1000, 4500, false),
] as const;

export const AIRLINES = [
  m('Qantas', 'QANTAS AIRWAYS MASCOT', 'travel', 18000, 95000, false),
  m('Virgin Australia', 'VIRGIN AUSTRALIA BRISBANE', 'travel', 15000, 80000, false),
] as const;

/** A fixed monthly charge (amount exact, in cents). */
export interface Recurring {
  name: string;
  label: string;
  category: Category;
  amount: number;
}

export const SUBSCRIPTIONS: readonly Recurring[] = [
  { name: 'Netflix', label: 'NETFLIX.COM MELBOURNE', category: 'subscriptions', amount: 1899 },
  { name: 'Spotify', label: 'SPOTIFY P2A8F6C1 SYDNEY', category: 'subscriptions', amount: 1399 },
  { name: 'Disney+', label: 'DISNEY PLUS SYDNEY', category: 'subscriptions', amount: 1399 },
  { name: 'Stan', label: 'STAN.COM.AU SYDNEY', category: 'subscriptions', amount: 1200 },
  { name: 'Apple', label: 'APPLE.COM/BILL SYDNEY', category: 'subscriptions', amount: 449 },
  { name: 'Amazon Prime', label: 'AMAZON PRIME AU', category: 'subscriptions', amount: 999 },
  { name: 'YouTube Premium', label: 'GOOGLE *YOUTUBEPREMIUM', category: 'subscriptions', amount: 1699 },
];

export const PHONE_PLANS: readonly Recurring[] = [
  { name: 'Telstra', label: 'TELSTRA PREPAID MELBOURNE', category: 'phone_internet', amount: 6500 },
  { name: 'Optus', label: 'OPTUS BILLING SYDNEY', category: 'phone_internet', amount: 5500 },
  { name: 'Vodafone', label: 'VODAFONE AUSTRALIA', category: 'phone_internet', amount: 5000 },
];

export const ENERGY: readonly Recurring[] = [
  { name: 'AGL', label: 'AGL ENERGY BPAY', category: 'utilities', amount: 36500 },
  { name: 'Origin Energy', label: 'ORIGIN ENERGY BPAY', category: 'utilities', amount: 41200 },
  { name: 'EnergyAustralia', label: 'ENERGYAUSTRALIA BPAY', category: 'utilities', amount: 33800 },
];

export const HEALTH_FUNDS: readonly Recurring[] = [
  { name: 'Medibank', label: 'MEDIBANK PRIVATE DIRECT DEBIT', category: 'insurance', amount: 21850 },
  { name: 'Bupa', label: 'BUPA AUSTRALIA DD', category: 'insurance', amount: 24310 },
  { name: 'HCF', label: 'HCF HEALTH INSURANCE DD', category: 'insurance', amount: 19640 },
];

export const GYMS: readonly Recurring[] = [
  { name: 'Anytime Fitness', label: 'ANYTIME FITNESS', category: 'fitness', amount: 6200 },
  { name: 'Fitness First', label: 'FITNESS FIRST AUSTRALIA', category: 'fitness', amount: 7495 },
  { name: 'F45 Training', label: 'F45 TRAINING', category: 'fitness', amount: 6500 },
];
