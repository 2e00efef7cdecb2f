/**
 * Parameterised SQL only (issue 12): values reach PostgreSQL as bind parameters ($1, $2 …), never
 * spliced into the text. This lint reads every source file under src/ with the TypeScript parser and
 * fails on
 *   - a template literal that reads as SQL and interpolates anything but `pg.escapeIdentifier(…)`
 *     outside src/db/sql/ — the one place where statements are assembled, from fragments and
 *     identifiers the code itself declares (tables from families.ts, column lists, helpers such as
 *     `utc()`), each module reviewed as a whole;
 *   - in src/db/sql/, an interpolation that names a value-like identifier (id, name, value, player,
 *     session, tenant, key, text …): those must be parameters;
 *   - SQL text joined with `+` to anything that is not itself a string literal.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SQL = /\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|VALUES|WHERE)\b/;
/** Identifiers that hold values, not SQL: never interpolated, even in src/db/sql. */
const VALUE_NAMES = /^(id|ids|name|value|values|player|playerId|session|sessionId|tenant|key|text|data|payload|input|body|query|params|arg|args|limit|offset|cursor)$/i;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** What the lint finds in one file's text (`rel`: its path from the repository root). */
function lint(code: string, rel: string): string[] {
  const out: string[] = [];
  const inSqlModules = rel.startsWith('src/db/sql/');
  const sf = ts.createSourceFile(rel, code, ts.ScriptTarget.Latest, true);
  const at = (n: ts.Node) => `${rel}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const visit = (n: ts.Node) => {
    if (ts.isTemplateExpression(n)) {
      const text = n.head.text + n.templateSpans.map((s) => s.literal.text).join(' ');
      if (SQL.test(text))
        for (const span of n.templateSpans) {
          const e = span.expression;
          const src = e.getText(sf);
          if (/^pg\.escapeIdentifier\(/.test(src)) continue;
          if (!inSqlModules) out.push(`${at(e)}: \${${src}} builds SQL outside src/db/sql`);
          else if (ts.isIdentifier(e) && VALUE_NAMES.test(e.text)) out.push(`${at(e)}: \${${src}} splices a value into SQL`);
        }
    }
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const sql = (x: ts.Expression) => ts.isStringLiteralLike(x) && SQL.test(x.text);
      const literal = (x: ts.Expression) => ts.isStringLiteralLike(x);
      if ((sql(n.left) && !literal(n.right)) || (sql(n.right) && !literal(n.left))) out.push(`${at(n)}: SQL joined with + to a non-literal`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

it('builds no SQL from values: parameters only, statements assembled in src/db/sql from declared fragments', () => {
  const found = sourceFiles(join(ROOT, 'src')).flatMap((f) => lint(readFileSync(f, 'utf8'), relative(ROOT, f).split(sep).join('/')));
  expect(found).toEqual([]);
});

it('catches a value spliced into SQL (the lint itself)', () => {
  expect(lint('const q = `SELECT * FROM players WHERE id = ${id}`;', 'src/api/x.ts')).toHaveLength(1);
  expect(lint('const q = `SELECT * FROM players WHERE id = ${id}`;', 'src/db/sql/x.ts')).toHaveLength(1);
  expect(lint("const q = 'SELECT * FROM players WHERE id = ' + id;", 'src/db/sql/x.ts')).toHaveLength(1);
  expect(lint('const q = `SELECT * FROM ${TABLE} WHERE id = $1`;', 'src/db/sql/x.ts')).toEqual([]);
  expect(lint('const q = `DROP SCHEMA ${pg.escapeIdentifier(s)}`;', 'src/queue/x.ts')).toEqual([]);
});
