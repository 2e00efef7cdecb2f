/** The command line's output helpers: control characters escaped, progress only on a terminal. */
import { describe, expect, it } from 'vitest';
import { esc, printable, progress } from '../../src/cli/output.ts';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 40, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream, written };
}

describe('CLI output', () => {
  it('escapes control and bidi characters of interpolated values, not of the template', () => {
    expect(printable('a\u001b[31mb\r\n\u202e\u0085c é 🤔')).toBe('a\\u{1b}[31mb\\u{d}\\u{a}\\u{202e}\\u{85}c é 🤔');
    expect(esc`name: ${'x\u0007'}\nnext ${42}`).toBe('name: x\\u{7}\nnext 42');
  });

  it('shows progress only on a terminal, and erases it when done', () => {
    const tty = fakeStream(true);
    const p = progress('rebuild', tty.stream);
    p.update('players 10/20');
    p.update('players 20/20');
    p.done();
    expect(tty.written.join('')).toContain('\rrebuild: players 20/20');
    expect(tty.written.at(-1)).toMatch(/^\r +\r$/);
    const pipe = fakeStream(false);
    const q = progress('rebuild', pipe.stream);
    q.update('players 1/2');
    q.done();
    expect(pipe.written).toEqual([]);
  });
});
