/** PII masking for profiles: enough to recognise, not enough to use. */
export function maskName(name: string): string {
  return name.split(/\s+/).map((part) => (part.length <= 1 ? part : `${part[0]}${'*'.repeat(Math.min(part.length - 1, 6))}`)).join(' ');
}

export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `${'*'.repeat(Math.max(0, digits.length - 3))}${digits.slice(-3)}`;
}

export function maskAddressLine(line: string): string {
  return line.replace(/\d+/g, (d) => '*'.repeat(d.length)).replace(/^(\S+\s+)(\S)(\S*)/, (_m, a: string, b: string, c: string) => `${a}${b}${'*'.repeat(c.length)}`);
}
