/**
 * Token connections (SimpleFIN): the user makes a setup token at the provider and pastes it here.
 * Causeway claims it at once (it works once), so a wrong or used token is said here, not later.
 */
import { useState } from 'react';
import type { ConnectionStart } from '../shared/api';
import { providerName } from '../shared/status';
import { Spinner, useAction } from '../shared/ui';
import { BankHeader, createBody, Failure, LinkError, otherBank, type BodyProps, type Screen } from './screens';

/** Where each provider's users make a token. */
const TOKEN_HELP: Record<string, { where: string; url: string }> = {
  simplefin: { where: 'your SimpleFIN Bridge account (Apps → New connection)', url: 'https://beta-bridge.simplefin.org/' },
};

export function PasteToken({ api, who, screen, setScreen, mode }: BodyProps & { screen: Extract<Screen, { kind: 'token' }> }) {
  const [token, setToken] = useState('');
  const action = useAction();
  const via = providerName(screen.institution.provider);
  const help = TOKEN_HELP[screen.institution.provider];
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const setupToken = token.trim();
      const started = screen.connection
        ? await api.post<ConnectionStart>(`/users/${who.userId}/connections/${screen.connection.id}/repair`, { setupToken })
        : await api.post<ConnectionStart>(`/users/${who.userId}/connections`, createBody(screen.institution, 'token', { setupToken }));
      setToken('');
      if (!started.job) throw new Error('The connection did not start; try again.');
      setScreen({ kind: 'progress', institution: screen.institution, connection: started.connection, job: started.job });
    });
  };
  return (
    <section aria-labelledby="token-title">
      <BankHeader institution={screen.institution} onBack={screen.connection || screen.failure || mode !== 'connect' ? undefined : () => setScreen({ kind: 'pick' })} />
      <h2 id="token-title">Paste your {via} setup token</h2>
      {screen.failure && (
        <Failure onOtherBank={otherBank({ mode, setScreen })}>
          <p>{screen.failure}</p><p className="small">Make a new setup token and paste it below, or choose another bank.</p>
        </Failure>
      )}
      <form onSubmit={submit} aria-describedby="token-help">
        <p id="token-help" className="muted small">
          Make a setup token in {help ? <a href={help.url} target="_blank" rel="noreferrer">{help.where}</a> : `your ${via} account`}, then paste it here.
          It works once; Causeway keeps the access it gives encrypted.
        </p>
        <label htmlFor="setup-token">Setup token</label>
        <textarea id="setup-token" rows={4} spellCheck={false} autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required autoFocus />
        <div className="row gap" style={{ marginTop: 14 }}>
          <button type="submit" className="primary" disabled={action.busy || token.trim() === ''}>{screen.connection ? 'Reconnect' : 'Connect'}</button>
          {action.busy && <Spinner label="Checking the token…" />}
        </div>
      </form>
      <LinkError error={action.error} mode={mode} setScreen={setScreen} />
    </section>
  );
}
