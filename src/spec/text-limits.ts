// What a SwarmCluster document may cost before it is parsed. The YAML parser's time
// grows with the number of entries, faster than linearly within one mapping (its
// duplicate-key check compares every key with every other), and it recurses on nesting:
// a 10,000-key map takes seconds and 200,000 nested `[` overflow the stack. So a single
// linear pass over the text measures its shape first, and a document over a limit is
// refused in milliseconds with a message naming the limit, before any parser runs.
//
// The measure is conservative, never exact: it follows quotes, comments, block scalars,
// flow brackets and block indentation, and counts what could be an entry. A valid
// document within the schema's own limits stays well inside every limit here.
//
// Pure: no I/O.

export interface TextLimits {
  /** Longest text, in UTF-16 code units (about bytes for the ASCII a spec is written in). */
  readonly maxLength: number;
  /** Deepest nesting of mappings and sequences. */
  readonly maxDepth: number;
  /** Entries (keys and items) in the whole document. */
  readonly maxEntries: number;
  /** Keys or items in any one mapping or sequence. */
  readonly maxCollectionEntries: number;
  /** YAML aliases (`*name`). */
  readonly maxAliases: number;
}

/**
 * Documents the controller reads from the management etcd (the spec key, last-good).
 * The schema's limits keep a valid spec to a few thousand entries at most.
 */
export const STORED_SPEC_LIMITS: TextLimits = {
  maxLength: 512 * 1024,
  maxDepth: 24,
  maxEntries: 4096,
  maxCollectionEntries: 256,
  maxAliases: 16,
};

/**
 * Files a user hands the CLI (apply -f, edit, validate, plan): the same shape limits
 * but room for the status of a large cluster, which `get -o yaml` includes.
 */
export const INPUT_FILE_LIMITS: TextLimits = {
  maxLength: 4 * 1024 * 1024,
  maxDepth: 24,
  maxEntries: 250_000,
  maxCollectionEntries: 20_000,
  maxAliases: 16,
};

export interface TextShape {
  readonly depth: number;
  readonly entries: number;
  readonly largestCollection: number;
  readonly aliases: number;
}

/** The first limit `text` breaks, as a message ("nests 30 levels deep; at most 24"), or undefined. */
export function checkTextLimits(text: string, limits: TextLimits): string | undefined {
  if (text.length > limits.maxLength) return `is ${text.length} characters long; at most ${limits.maxLength} are accepted`;
  const shape = measureText(text, limits);
  if (shape.depth > limits.maxDepth) return `nests more than ${limits.maxDepth} levels deep (limit maxDepth ${limits.maxDepth})`;
  if (shape.largestCollection > limits.maxCollectionEntries) {
    return `has a mapping or list of more than ${limits.maxCollectionEntries} entries (limit maxCollectionEntries ${limits.maxCollectionEntries}; labels and annotations take at most 64)`;
  }
  if (shape.entries > limits.maxEntries) return `has more than ${limits.maxEntries} entries in all (limit maxEntries ${limits.maxEntries})`;
  if (shape.aliases > limits.maxAliases) return `uses more than ${limits.maxAliases} YAML aliases (limit maxAliases ${limits.maxAliases})`;
  return undefined;
}

interface Collection {
  /** Indentation of a block collection; -1 for a flow collection. */
  readonly indent: number;
  entries: number;
}

/**
 * One pass over the text, line by line. Stops counting as soon as any measure passes its
 * limit (the answer is then already known), so the cost is linear in the text and small.
 */
export function measureText(text: string, limits: TextLimits): TextShape {
  const meter = new ShapeMeter(text, limits);
  let blockScalarIndent = -2;
  let i = 0;
  const n = text.length;
  while (i < n && !meter.over()) {
    // At the start of a line.
    let indent = 0;
    while (i < n && text[i] === ' ') {
      indent++;
      i++;
    }
    const lineEnd = nextNewline(text, i);
    const blank = i >= lineEnd || text[i] === '#' || text[i] === '\r';
    if (blockScalarIndent > -2) {
      if (blank || indent > blockScalarIndent) {
        i = lineEnd + 1;
        continue;
      }
      blockScalarIndent = -2;
    }
    if (blank) {
      i = lineEnd + 1;
      continue;
    }
    if (!meter.inFlow()) {
      const rest = meter.openBlockEntries(i, indent, lineEnd);
      if (rest === undefined) return meter.shape();
      i = rest;
    }
    const stop = meter.scanLine(i, lineEnd);
    if (stop > lineEnd) {
      // A quoted string ran over the line end: go on after it, at the start of its last line's rest.
      i = nextNewline(text, stop) + 1;
      continue;
    }
    if (endsWithBlockScalarIndicator(text, i, lineEnd)) blockScalarIndent = indent;
    i = lineEnd + 1;
  }
  return meter.shape();
}

/** The running tally of one measure: open collections, depth, entries, aliases. */
class ShapeMeter {
  private readonly stack: Collection[] = [];
  private depth = 0;
  private entries = 0;
  private largest = 0;
  private aliases = 0;

  constructor(
    private readonly text: string,
    private readonly limits: TextLimits,
  ) {}

  shape(): TextShape {
    return { depth: this.depth, entries: this.entries, largestCollection: this.largest, aliases: this.aliases };
  }

  over(): boolean {
    const { limits } = this;
    return (
      this.depth > limits.maxDepth ||
      this.largest > limits.maxCollectionEntries ||
      this.entries > limits.maxEntries ||
      this.aliases > limits.maxAliases
    );
  }

  /** Inside a flow collection (`[...]`, `{...}`), where indentation means nothing. */
  inFlow(): boolean {
    return this.stack.length > 0 && this.stack[this.stack.length - 1]!.indent === -1;
  }

  /**
   * Closes the block collections this line's indentation leaves, then counts its entry;
   * `- - x` opens one sequence per dash on the same line. Returns where the line's
   * content starts, or undefined once a limit is passed.
   */
  openBlockEntries(from: number, indent: number, lineEnd: number): number | undefined {
    const { text, stack } = this;
    while (stack.length > 0 && stack[stack.length - 1]!.indent > indent) stack.pop();
    let i = from;
    let col = indent;
    let first = true;
    while (i < lineEnd && (text[i] === '-' || text[i] === '?') && (i + 1 === lineEnd || text[i + 1] === ' ')) {
      this.openBlock(col, first);
      if (this.over()) return undefined;
      first = false;
      i += 2;
      col += 2;
      while (i < lineEnd && text[i] === ' ') {
        i++;
        col++;
      }
    }
    if (first) this.openBlock(indent, true);
    return i;
  }

  /** Scans the rest of a line for quotes, flow brackets, separators, aliases, comments; returns where it stopped. */
  scanLine(from: number, lineEnd: number): number {
    const { text, stack } = this;
    let j = from;
    while (j < lineEnd) {
      const ch = text[j];
      if (ch === '"' || ch === "'") {
        j = skipQuoted(text, j);
        // A quoted string may span lines: skip its whole extent.
        if (j > lineEnd) return j;
        continue;
      }
      if (ch === '#' && (j === 0 || text[j - 1] === ' ' || text[j - 1] === '\t')) return lineEnd;
      if (ch === '[' || ch === '{') {
        const c: Collection = { indent: -1, entries: 0 };
        this.push(c);
        if (!isEmptyFlow(text, j + 1)) this.count(c);
      } else if ((ch === ']' || ch === '}') && this.inFlow()) {
        stack.pop();
      } else if (ch === ',' && this.inFlow()) {
        this.count(stack[stack.length - 1]);
      } else if (ch === '*' && (j === from || ' [{,:'.includes(text[j - 1] ?? ' '))) {
        this.aliases++;
      }
      if (this.over()) return lineEnd;
      j++;
    }
    return j;
  }

  /** An entry of the block collection at `col`, opened if this is its first. */
  private openBlock(col: number, sameLineFirst: boolean): void {
    const top = this.stack[this.stack.length - 1];
    if (top && top.indent === col && sameLineFirst) {
      this.count(top);
      return;
    }
    const c: Collection = { indent: col, entries: 0 };
    this.push(c);
    this.count(c);
  }

  private count(c: Collection | undefined): void {
    this.entries++;
    if (c) this.largest = Math.max(this.largest, ++c.entries);
  }

  private push(c: Collection): void {
    this.stack.push(c);
    this.depth = Math.max(this.depth, this.stack.length);
  }
}

function nextNewline(text: string, from: number): number {
  const k = text.indexOf('\n', from);
  return k === -1 ? text.length : k;
}

/** Index just past the closing quote (or the end of the text). */
function skipQuoted(text: string, start: number): number {
  const q = text[start];
  let j = start + 1;
  while (j < text.length) {
    const ch = text[j];
    if (q === '"' && ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === q) {
      if (q === "'" && text[j + 1] === "'") {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return j;
}

function isEmptyFlow(text: string, from: number): boolean {
  let j = from;
  while (j < text.length && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
  return text[j] === ']' || text[j] === '}';
}

/** A line ending in `|`, `>`, `|-`, `>+2` and the like starts a block scalar. */
function endsWithBlockScalarIndicator(text: string, from: number, lineEnd: number): boolean {
  let j = lineEnd - 1;
  while (j >= from && (text[j] === ' ' || text[j] === '\r')) j--;
  while (j >= from && /[-+0-9]/.test(text[j]!)) j--;
  return j >= from && (text[j] === '|' || text[j] === '>') && (j === 0 || text[j - 1] === ' ' || text[j - 1] === ':');
}
