/**
 * Output for people. Values that come from users (player names, tenants, session ids, descriptions)
 * may hold control characters: an escape sequence would recolour or rewrite the terminal, a carriage
 * return or a bidi override would disguise a line. `esc` prints such a value's control characters as
 * `\u{…}` escapes, and nothing else about it changes. JSON output (`--json`) needs none of this.
 */

/** C0 and C1 controls (newline and tab included) and the bidi embedding, override and isolate marks. */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  return s.replace(CONTROL, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** A template tag: the template's own text as written, every interpolated value made printable. */
export function esc(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += printable(String(values[i])) + (strings[i + 1] ?? '');
  return out;
}

/**
 * A one-line progress report on standard error, for long commands (rebuild, verify, dlq replay): shown
 * only when standard error is a terminal, so logs and pipes get no carriage returns, and erased when
 * done.
 */
export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): { update(text: string): void; done(): void } {
  if (!stream.isTTY) return { update() {}, done() {} };
  let width = 0;
  const write = (s: string) => {
    const line = `${label}: ${s}`.slice(0, Math.max(20, (stream.columns ?? 80) - 1));
    stream.write(`\r${line.padEnd(width)}`);
    width = line.length;
  };
  return {
    update: write,
    done: () => {
      if (width) stream.write(`\r${' '.repeat(width)}\r`);
      width = 0;
    },
  };
}
