/** Small accessible building blocks shared by the three pages. */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';
import { initials, plainStatus, textOn } from './status';

export function Spinner({ label }: { label: string }) {
  return <span className="spinner" role="status" aria-live="polite"><span className="spinner-dot" aria-hidden="true" />{label}</span>;
}

/** An error that says what to do; `onRetry` puts a way forward right beside it. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="alert alert-bad" role="alert">
      <p>{message}</p>
      {code && <p className="muted small">Code: <code>{code}</code></p>}
      {onRetry && <button type="button" onClick={onRetry}>Try again</button>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'ok' | 'warn' }) {
  return <div className={`alert alert-${tone}`} role="status">{children}</div>;
}

export function StatusBadge({ status, reason, via = null }: { status: string; reason: string | null; via?: string | null }) {
  const plain = plainStatus(status, reason, via);
  return <span className={`badge badge-${plain.tone}`} title={`${status}${reason ? ` / ${reason}` : ''}`}>{plain.title}</span>;
}

/**
 * A confirmation in a modal <dialog>: the browser keeps focus inside it and Escape closes it.
 * `children` may hold choices (radio buttons) read by the caller on confirm.
 */
export function ConfirmDialog(props: {
  open: boolean; title: string; confirmLabel: string; danger?: boolean; busy?: boolean;
  onConfirm: () => void; onCancel: () => void; children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <h2 id="dialog-title">{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      <div className="row gap end">
        <button type="button" onClick={props.onCancel} disabled={props.busy}>Cancel</button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm} disabled={props.busy}>
          {props.busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Runs an async action with a busy flag and its error kept for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/**
 * The institution's logo where the provider gives one (an https URL or a data: URI), with alt text;
 * otherwise (or when it does not load) its initials in a circle, on its brand colour if it has one.
 */
export function Logo({ name, logo = null, color = null }: { name: string; logo?: string | null; color?: string | null }) {
  const [broken, setBroken] = useState(false);
  useEffect(() => setBroken(false), [logo]);
  if (logo && !broken && /^(https:|data:image\/)/.test(logo)) {
    return <img className="logo logo-img" src={logo} alt={`${name} logo`} width={38} height={38} onError={() => setBroken(true)} />;
  }
  const brand = color && /^#[0-9a-f]{6}$/i.test(color) ? { background: color, color: textOn(color) } : undefined;
  return <span className="logo" style={brand} aria-hidden="true">{initials(name)}</span>;
}
