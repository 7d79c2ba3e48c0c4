/** The connect widget's screens (main.tsx draws them) and what each screen component receives. */
import type { Api, Connection, Institution, Job } from '../shared/api';
import { Logo } from '../shared/ui';

export interface Who { userId: string; scopes: string[]; redirectUri: string | null }
export type Mode = 'connect' | 'repair' | 'products';
/** Linked away from Causeway: at the bank (openbanking) or at the provider (hosted). */
export type AwayMethod = 'openbanking' | 'hosted';

export type Screen =
  | { kind: 'pick' }
  | { kind: 'method'; institution: Institution }
  | { kind: 'credentials'; institution: Institution; connection: Connection | null; failure: string | null }
  /** `connection` null: created when the user continues (hosted, chosen from the list). */
  | { kind: 'consent'; institution: Institution; method: AwayMethod; connection: Connection | null; url: string | null; failure: string | null }
  /** Token (SimpleFIN): the user pastes a setup token made at the provider. `connection`: a repair. */
  | { kind: 'token'; institution: Institution; connection: Connection | null; failure: string | null }
  | { kind: 'products'; connection: Connection; institution: Institution }
  | { kind: 'progress'; institution: Institution; connection: Connection; job: Job }
  | { kind: 'done'; institution: Institution; connection: Connection; job: Job | null };

export interface BodyProps { api: Api; who: Who; screen: Screen; setScreen: (s: Screen) => void }

/** The chosen bank at the top of a screen, with a way back to the list where there is one. */
export function BankHeader({ institution, onBack }: { institution: Institution; onBack?: () => void }) {
  return (
    <div className="row gap between">
      <div className="row gap"><Logo name={institution.name} logo={institution.logo} color={institution.primaryColor} /><strong>{institution.name}</strong></div>
      {onBack && <button type="button" className="link" onClick={onBack}>Choose another bank</button>}
    </div>
  );
}
