/** The connect widget's screens (main.tsx draws them) and what each screen component receives. */
import type { Api, Connection, Institution, Job, Method } from '../shared/api';
import { ErrorBox, Logo } from '../shared/ui';

/** GET /v1/client-token: the user, what the token allows, and the application as its operator named it. */
export interface Who {
  userId: string; scopes: string[]; redirectUri: string | null; expiresAt: string;
  application: { name: string; environment: string };
}
export type Mode = 'connect' | 'repair' | 'products';
/** Linked away from Causeway: at the bank (openbanking) or at the provider (hosted). */
export type AwayMethod = 'openbanking' | 'hosted';

export type Screen =
  | { kind: 'pick' }
  | { kind: 'method'; institution: Institution }
  /** What will be shared, for how long, how to stop: before any credentials or redirect. `next`: where Continue leads. */
  | { kind: 'share'; institution: Institution; method: Method; next: Screen; back: Screen }
  | { kind: 'credentials'; institution: Institution; connection: Connection | null; failure: string | null }
  /** `connection` null: created when the user continues (hosted, chosen from the list). */
  | { kind: 'consent'; institution: Institution; method: AwayMethod; connection: Connection | null; url: string | null; failure: string | null }
  /** Token (SimpleFIN): the user pastes a setup token made at the provider. `connection`: a repair. */
  | { kind: 'token'; institution: Institution; connection: Connection | null; failure: string | null }
  | { kind: 'products'; connection: Connection; institution: Institution }
  | { kind: 'progress'; institution: Institution; connection: Connection; job: Job }
  | { kind: 'done'; institution: Institution; connection: Connection; job: Job | null };

export interface BodyProps { api: Api; who: Who; screen: Screen; setScreen: (s: Screen) => void; mode: Mode }

/** The screen where a way of connecting starts (a new link). */
export function methodScreen(institution: Institution, method: Method): Screen {
  switch (method) {
    case 'web': return { kind: 'credentials', institution, connection: null, failure: null };
    case 'token': return { kind: 'token', institution, connection: null, failure: null };
    default: return { kind: 'consent', institution, method, connection: null, url: null, failure: null };
  }
}

/** The consent pane first, then that way of connecting; Back returns to `back`. */
export const shareThen = (institution: Institution, method: Method, back: Screen): Screen =>
  ({ kind: 'share', institution, method, next: methodScreen(institution, method), back });

/** The products asked for: ?products= (those the bank offers), else what Causeway links by default (all but investments). */
export function requestedProducts(institution: Institution): string[] {
  const asked = new URLSearchParams(window.location.search).get('products')?.split(',').map((p) => p.trim()).filter((p) => institution.products.includes(p)) ?? [];
  const products = asked.length > 0 ? asked : institution.products.filter((p) => p !== 'investments');
  return products.includes('accounts') || !institution.products.includes('accounts') ? products : ['accounts', ...products];
}

/** The body of a new connection: the products only when the app asked for some (?products=), else the API's default. */
export function createBody(institution: Institution, method: Method, extra: Record<string, unknown> = {}) {
  const asked = new URLSearchParams(window.location.search).has('products');
  return { institutionId: institution.id, method, ...(asked ? { products: requestedProducts(institution) } : {}), ...extra };
}

/** The chosen bank at the top of a screen, with a way back to the list where there is one. */
export function BankHeader({ institution, onBack }: { institution: Institution; onBack?: () => void }) {
  return (
    <div className="bank-header">
      <div className="bank-name"><Logo name={institution.name} logo={institution.logo} color={institution.primaryColor} /><strong>{institution.name}</strong></div>
      {onBack && <button type="button" className="link" onClick={onBack}>Choose another bank</button>}
    </div>
  );
}

/**
 * A failure: what went wrong and what to do, then the way forward (`action`, e.g. "Try again") and,
 * when a new link is being made, the way to another bank (the picker, in the same session).
 */
export function Failure({ title, children, action, onOtherBank }: {
  title?: string; children: React.ReactNode; action?: React.ReactNode; onOtherBank?: () => void;
}) {
  return (
    <>
      <div className="alert alert-bad" role="alert">
        {title && <p><strong>{title}</strong></p>}
        {children}
      </div>
      {(action || onOtherBank) && (
        <div className="failure-actions">
          {action}
          {onOtherBank && <button type="button" onClick={onOtherBank}>Choose another bank</button>}
        </div>
      )}
    </>
  );
}

/** Back to the picker after a failure: only when making a new link (a repair or more products is about one connection). */
export const otherBank = (p: Pick<BodyProps, 'mode' | 'setScreen'>) => (p.mode === 'connect' ? () => p.setScreen({ kind: 'pick' }) : undefined);

/** An error the API answered on a screen of the link, with the way to another bank beside it. */
export function LinkError({ error, mode, setScreen }: { error: unknown } & Pick<BodyProps, 'mode' | 'setScreen'>) {
  if (!error) return null;
  const back = otherBank({ mode, setScreen });
  return (
    <>
      <ErrorBox error={error} />
      {back && <div className="failure-actions"><button type="button" onClick={back}>Choose another bank</button></div>}
    </>
  );
}
