// Reports the longest production source files and functions under src/ (tests excluded),
// and exits 1 when a file is over --max-file-lines or a function over --max-function-lines.
// Functions are found with the TypeScript compiler's parser: declarations, methods,
// accessors, constructors, function expressions and arrow functions, each counted from
// its first to its last line. Usage: npx tsx scripts/size-report.ts [--top N]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const { values } = parseArgs({
  options: {
    top: { type: 'string', default: '10' },
    'max-file-lines': { type: 'string', default: '300' },
    'max-function-lines': { type: 'string', default: '80' },
  },
});
const top = Number(values.top);
const maxFile = Number(values['max-file-lines']);
const maxFunction = Number(values['max-function-lines']);

interface Measured {
  readonly where: string;
  readonly lines: number;
}

function productionFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) && node.name)
    return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText();
  return '(anonymous)';
}

function measureFunctions(file: string, text: string): Measured[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Measured[] = [];
  const lineOf = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = lineOf(node.getStart(source));
      const lines = lineOf(node.getEnd()) - first + 1;
      out.push({ where: `${file}:${first} ${functionName(node)}`, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const files: Measured[] = [];
const functions: Measured[] = [];
for (const file of productionFiles('src')) {
  const text = readFileSync(file, 'utf8');
  files.push({ where: file, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  functions.push(...measureFunctions(file, text));
}
const longest = (xs: Measured[]): Measured[] => [...xs].sort((a, b) => b.lines - a.lines);
const print = (title: string, xs: Measured[], max: number): number => {
  const over = xs.filter((x) => x.lines > max).length;
  process.stdout.write(`${title}: ${xs.length} measured, ${over} over ${max} lines; longest:\n`);
  for (const x of longest(xs).slice(0, top)) process.stdout.write(`  ${String(x.lines).padStart(4)}  ${x.where}\n`);
  return over;
};
const overFiles = print('Files', files, maxFile);
const overFunctions = print('Functions', functions, maxFunction);
process.exitCode = overFiles + overFunctions > 0 ? 1 : 0;
