/**
 * GoCardless Bank Account Data's JSON shapes as the adapter reads them (after its OpenAPI spec,
 * components/schemas). Fields a bank may leave out are optional; these types stay inside this folder.
 */

/** Integration / IntegrationRetrieve. The day counts are strings on the wire. */
export interface GcInstitution {
  id: string;
  name: string;
  bic?: string;
  transaction_total_days?: string;
  max_access_valid_for_days?: string;
  countries: string[];
  logo: string;
  supported_features?: unknown[];
}

/** Requisition statuses (StatusEnum). */
export type GcRequisitionStatus = 'CR' | 'ID' | 'LN' | 'RJ' | 'ER' | 'SU' | 'EX' | 'GC' | 'UA' | 'GA' | 'SA';

export interface GcRequisition {
  id: string;
  created?: string | null;
  redirect: string | null;
  status: GcRequisitionStatus;
  institution_id: string;
  agreement?: string;
  reference?: string;
  accounts?: string[];
  user_language?: string;
  link: string;
}

export interface GcAgreement {
  id: string;
  created?: string;
  institution_id: string;
  max_historical_days?: number;
  access_valid_for_days?: number;
  access_scope?: unknown[];
  accepted?: string | null;
}

/** GET /api/v2/accounts/{id}/ (metadata; not metered per account). */
export interface GcAccount {
  id: string;
  created?: string;
  last_accessed?: string;
  iban?: string;
  bban?: string;
  status?: string;
  institution_id?: string;
  owner_name?: string;
  name?: string;
}

/** DetailSchema (GET /api/v2/accounts/{id}/details/ → { account }). */
export interface GcDetails {
  resourceId?: string;
  iban?: string;
  bban?: string;
  scan?: string;
  msisdn?: string;
  currency?: string;
  ownerName?: string;
  name?: string;
  displayName?: string;
  product?: string;
  cashAccountType?: string;
  status?: string;
  maskedPan?: string;
}

export interface GcAmount { amount: string; currency: string }

export interface GcBalance {
  balanceAmount: GcAmount;
  balanceType: string;
  creditLimitIncluded?: boolean;
  referenceDate?: string;
  lastChangeDateTime?: string;
}

/** TransactionSchema. */
export interface GcTransaction {
  transactionId?: string;
  internalTransactionId?: string;
  entryReference?: string;
  bookingDate?: string;
  valueDate?: string;
  bookingDateTime?: string;
  valueDateTime?: string;
  transactionAmount: GcAmount;
  creditorName?: string;
  creditorAccount?: { iban?: string; bban?: string };
  debtorName?: string;
  debtorAccount?: { iban?: string; bban?: string };
  remittanceInformationUnstructured?: string;
  remittanceInformationUnstructuredArray?: string[];
  remittanceInformationStructured?: string;
  remittanceInformationStructuredArray?: string[];
  additionalInformation?: string;
  bankTransactionCode?: string;
  proprietaryBankTransactionCode?: string;
}

export interface GcTransactions {
  transactions: { booked: GcTransaction[]; pending?: GcTransaction[] };
  last_updated?: string;
}
