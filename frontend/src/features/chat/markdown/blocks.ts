/**
 * Splits Markdown into runs of top-level blocks that render, one run at a time, exactly
 * as the whole text does. A streaming answer then re-parses only its last run (the open
 * tail) on each delta; the runs before it never change and stay memoized.
 *
 * A cut is made only where CommonMark cannot carry state across it:
 * - after a blank line, before a line at column 0 that is not a list marker (a blank line
 *   followed by such a line closes every container; a list marker could continue a list,
 *   turning it loose, so we never cut there) — and not inside a fenced code block or one of
 *   the HTML blocks that run past blank lines (comments, <pre>, <script>, …);
 * - after the closing fence of a code block that opened at column 0.
 * Cutting less often than possible is always correct, only slower; so every rule errs on
 * the side of not cutting.
 *
 * Link reference definitions act on the whole document: a definition at the end changes a
 * link at the start. Each is recorded (`definitions`, with the run it is in), and the
 * renderer puts copies of them before every run (a definition renders as nothing; the
 * first of a label wins, as in the whole document). Only definitions that are plainly
 * ones are handled so: one whole line, after a blank line, another definition or a closed
 * fence. Anything else that looks like one (a title on the next line, a definition right
 * after a heading…) and footnotes (numbered and collected at the end of the document)
 * make the text render as one piece (`whole: true`): correct, only slower.
 */

export interface Definition {
  /** The definition's line, without its indentation. */
  line: string;
  /** The index of the run it is in. */
  run: number;
}

export interface Split {
  /** The runs, in order; joined they are the text. */
  blocks: string[];
  /** True when the text must be rendered as one piece (see above). */
  whole: boolean;
  definitions: Definition[];
}

const DEFINITION = /^ {0,3}\[[^\]]+\]:/;
const PLAIN_DEFINITION =
  /^ {0,3}\[(?:[^\[\]\\]|\\.)*\S(?:[^\[\]\\]|\\.)*\]:[ \t]*(?:<[^<>\n]*>|[^\s<]\S*)(?:[ \t]+(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?[ \t]*$/;
const LIST_MARKER = /^(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)/;
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
// HTML blocks of CommonMark kinds 1-5 end at a marker, not at a blank line.
const HTML_BLOCKS: [RegExp, RegExp][] = [
  [/^ {0,3}<(?:script|pre|style|textarea)(?:[\s>]|$)/i, /<\/(?:script|pre|style|textarea)>/i],
  [/^ {0,3}<!--/, /-->/],
  [/^ {0,3}<\?/, /\?>/],
  [/^ {0,3}<![A-Za-z]/, />/],
  [/^ {0,3}<!\[CDATA\[/, /\]\]>/],
];

function isBlank(line: string): boolean {
  return line.trim() === '';
}

export function splitBlocks(text: string): Split {
  const blocks: string[] = [];
  let start = 0; // where the current run begins
  let pos = 0; // where the current line begins
  let fence: { char: string; length: number; indent: number } | null = null;
  let htmlEnd: RegExp | null = null;
  let previousBlank = false;
  let runHasContent = false; // a run of blank lines alone would render as nothing
  let boundary = true; // the line before ended a block (blank, a definition, a closed fence)
  let previousDefinition = false;
  const definitions: Definition[] = [];
  const whole = (): Split => ({ blocks: [text], whole: true, definitions: [] });

  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const end = newline === -1 ? text.length : newline + 1;
    const line = text.slice(pos, newline === -1 ? text.length : newline).replace(/\r$/, '');

    if (fence) {
      const close = FENCE.exec(line);
      if (close && close[2][0] === fence.char && close[2].length >= fence.length && close[3].trim() === '') {
        const topLevel = fence.indent === 0;
        fence = null;
        boundary = true;
        // A closed top-level fence ends its block: cut after it once the next line has begun
        // (a blank next line is left to the rule below).
        if (topLevel && newline !== -1 && end < text.length && text[end] !== '\n' && text[end] !== '\r') {
          blocks.push(text.slice(start, end));
          start = end;
          runHasContent = false;
        }
      }
      previousBlank = false;
      pos = end;
      continue;
    }
    if (htmlEnd) {
      if (htmlEnd.test(line)) htmlEnd = null;
      previousBlank = isBlank(line);
      boundary = false;
      pos = end;
      continue;
    }

    const definition = DEFINITION.test(line);
    // A definition continued on the next line (its title, …), or one that is not plainly one.
    if (previousDefinition && !definition && !isBlank(line)) return whole();
    if (definition && (line.trimStart().startsWith('[^') || !boundary || !PLAIN_DEFINITION.test(line))) return whole();

    if (previousBlank && runHasContent && /^\S/.test(line) && !LIST_MARKER.test(line)) {
      blocks.push(text.slice(start, pos));
      start = pos;
    }
    if (!isBlank(line)) runHasContent = true;
    if (definition) definitions.push({ line: line.trim(), run: blocks.length });
    previousDefinition = definition;

    const open = FENCE.exec(line);
    if (open && !(open[2][0] === '`' && open[3].includes('`'))) {
      fence = { char: open[2][0], length: open[2].length, indent: open[1].length };
    } else {
      for (const [opening, closing] of HTML_BLOCKS) {
        if (opening.test(line)) {
          if (!closing.test(line.slice(line.indexOf('<') + 2))) htmlEnd = closing;
          break;
        }
      }
    }
    previousBlank = isBlank(line);
    boundary = previousBlank || definition;
    pos = end;
  }
  if (start < text.length || blocks.length === 0) blocks.push(text.slice(start));
  return { blocks, whole: false, definitions };
}

/**
 * `splitBlocks(text)` for a text that grew from `previous.text`: the runs before the last
 * are closed, so only the text from the last run on is scanned again. Falls back to a
 * whole scan when the text did not grow, or when the new tail starts with a list marker
 * (which may join the run before it).
 */
export function splitGrown(text: string, previous: { text: string; split: Split } | null): Split {
  if (!previous || previous.split.whole || previous.split.blocks.length < 2) return splitBlocks(text);
  const closed = previous.split.blocks.slice(0, -1);
  const closedLength = previous.text.length - previous.split.blocks[previous.split.blocks.length - 1].length;
  if (!text.startsWith(previous.text.slice(0, closedLength))) return splitBlocks(text);
  const tail = text.slice(closedLength);
  if (LIST_MARKER.test(tail)) return splitBlocks(text);
  const rest = splitBlocks(tail);
  if (rest.whole) return { blocks: [text], whole: true, definitions: [] };
  return {
    blocks: [...closed, ...rest.blocks],
    whole: false,
    definitions: [
      ...previous.split.definitions.filter((definition) => definition.run < closed.length),
      ...rest.definitions.map((definition) => ({ ...definition, run: definition.run + closed.length })),
    ],
  };
}
