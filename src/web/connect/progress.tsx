/** Following the link's job step by step (with the one-time code where the bank asks), then the end. */
import { useEffect, useState } from 'react';
import { followJob, type Connection, type Job } from '../shared/api';
import { plainStatus, reasonText, stepText, viaOf } from '../shared/status';
import { Notice, Spinner, useAction, ErrorBox } from '../shared/ui';
import { methodOf } from './away';
import { finish } from './chrome';
import { BankHeader, LinkError, type BodyProps, type Screen } from './screens';

export function Progress({ api, who, screen, setScreen, mode }: BodyProps & { screen: Extract<Screen, { kind: 'progress' }> }) {
  const [job, setJob] = useState<Job>(screen.job);
  const [error, setError] = useState<unknown>(null);
  const [code, setCode] = useState('');
  const mfa = useAction();
  useEffect(() => {
    if (job.status === 'awaiting_input') return;
    let stop = false;
    (async () => {
      const ended = await followJob<Job>(api, job.id, (j) => { if (!stop) setJob(j); }, (j) => stop || !['queued', 'running'].includes(j.status));
      if (stop || ended.status === 'awaiting_input') return;
      const c = await api.get<Connection>(`/users/${who.userId}/connections/${screen.connection.id}`);
      if (ended.status === 'succeeded') setScreen({ kind: 'done', institution: screen.institution, connection: c, job: ended });
      else if (c.method === 'token' && c.allowedActions.includes('repair')) {
        setScreen({ kind: 'token', institution: screen.institution, connection: c, failure: reasonText(ended.error?.code ?? c.statusReason) || plainStatus(c.status, c.statusReason).detail });
      } else if (c.method === 'web' && c.allowedActions.includes('repair')) {
        setScreen({ kind: 'credentials', institution: screen.institution, connection: c, failure: reasonText(ended.error?.code ?? c.statusReason) || plainStatus(c.status, c.statusReason).detail });
      } else if (c.method !== 'web' && c.method !== 'token' && c.allowedActions.includes('repair') && ['failed', 'reconnect_required'].includes(c.status)) {
        // Linked away: "Try again" is a new link on the same connection.
        const via = viaOf(c);
        setScreen({ kind: 'consent', institution: screen.institution, method: methodOf(c), connection: c, url: null,
          failure: reasonText(c.statusReason ?? ended.error?.code ?? null, via) || plainStatus(c.status, c.statusReason, via).detail });
      } else setError(new Error(`${plainStatus(c.status, c.statusReason, viaOf(c)).title}. ${reasonText(ended.error?.code ?? c.statusReason, viaOf(c))}`));
    })().catch(setError);
    return () => { stop = true; };
  }, [job.id, job.status === 'awaiting_input']);
  const sendCode = (e: React.FormEvent) => {
    e.preventDefault();
    void mfa.run(async () => {
      const j = await api.post<Job>(`/jobs/${job.id}/mfa`, { code });
      setCode('');
      setJob(j);
    });
  };
  return (
    <section aria-labelledby="progress-title">
      <BankHeader institution={screen.institution} />
      <h2 id="progress-title">{error ? 'Not connected' : job.status === 'awaiting_input' ? 'Enter your code' : 'Connecting…'}</h2>
      <ol className="steps" aria-label="Progress">
        {job.steps.map((s) => (
          <li key={s.name} aria-current={s.status === 'in_progress' ? 'step' : undefined}>
            <span className="step-mark" aria-hidden="true">{s.status === 'success' ? '✓' : s.status === 'failed' ? '✕' : s.status === 'in_progress' ? '…' : s.status === 'awaiting_input' ? '?' : '○'}</span>
            <span>{stepText(s.name)}</span>
            <span className="sr-only">: {s.status.replace('_', ' ')}</span>
          </li>
        ))}
      </ol>
      {job.status === 'awaiting_input' ? (
        <form onSubmit={sendCode}>
          <p>{job.mfa?.prompt || 'Your bank sent you a one-time code.'}</p>
          <label htmlFor="code">One-time code</label>
          <input id="code" type="text" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} required autoFocus />
          <div className="row gap" style={{ marginTop: 12 }}>
            <button type="submit" className="primary" disabled={mfa.busy}>Continue</button>
            {mfa.busy && <Spinner label="Checking…" />}
          </div>
          <ErrorBox error={mfa.error} />
        </form>
      ) : !error && <Spinner label="Working with your bank. This can take a moment." />}
      <LinkError error={error} mode={mode} setScreen={setScreen} />
    </section>
  );
}

export function Done({ who, screen }: BodyProps & { screen: Extract<Screen, { kind: 'done' }> }) {
  const plain = plainStatus(screen.connection.status, screen.connection.statusReason, viaOf(screen.connection));
  // A bank linked again at the provider: the connection the app already has is updated, this one ends.
  const duplicate = screen.connection.statusReason === 'duplicate_connection';
  const result = { connectionId: screen.connection.id, jobId: screen.job?.id ?? null, status: screen.connection.status };
  useEffect(() => {
    if (!who.redirectUri) finish(who, result); // embedded: tell the app at once; a redirect waits for the button
  }, []);
  return (
    <section aria-labelledby="done-title">
      <BankHeader institution={screen.institution} />
      <div className="done-head">
        {screen.connection.status === 'active' && <span className="done-mark" aria-hidden="true">✓</span>}
        <h2 id="done-title">{screen.connection.status === 'active' ? `${screen.institution.name} is connected` : duplicate ? `${screen.institution.name} was already connected` : plain.title}</h2>
      </div>
      <Notice tone={duplicate ? 'info' : 'ok'}>{plain.detail}</Notice>
      {who.redirectUri
        ? <button type="button" className="primary" onClick={() => finish(who, result)} autoFocus>Continue</button>
        : <p className="muted">You can close this window.</p>}
    </section>
  );
}
