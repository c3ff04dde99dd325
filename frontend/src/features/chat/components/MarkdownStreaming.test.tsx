import { render, waitFor } from '@testing-library/react';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitBlocks, splitGrown, type Split } from '../markdown/blocks';
import { Markdown, MarkdownWhole } from './Markdown';

/** Deterministic delta sizes 1..max, like a model's tokens but cut anywhere. */
function deltas(text: string, max = 7, seed = 7): string[] {
  const out: string[] = [];
  let state = seed;
  for (let i = 0; i < text.length; ) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % max);
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

/**
 * The element's HTML with every element's attributes in name order: React adds an attribute
 * that appears later (a link's title once its definition arrives) after the others, which
 * changes the serialization, not the DOM's meaning.
 */
function html(element: Element): string {
  const copy = element.cloneNode(true) as Element;
  for (const node of [copy, ...copy.querySelectorAll('*')]) {
    const attributes = [...node.attributes].map((a) => [a.name, a.value] as const).sort(([a], [b]) => a.localeCompare(b));
    for (const [name] of attributes) node.removeAttribute(name);
    for (const [name, value] of attributes) node.setAttribute(name, value);
  }
  return copy.innerHTML;
}

function wholeHtml(text: string): string {
  const { container, unmount } = render(<MarkdownWhole text={text} />);
  const result = html(container.firstElementChild!);
  unmount();
  return result;
}

/** Streams `text` delta by delta, then ends the stream; returns the final HTML. */
function streamedHtml(text: string, max: number, checkEachStep = false): string {
  let shown = '';
  const { container, rerender, unmount } = render(<Markdown text="" streaming />);
  for (const delta of deltas(text, max)) {
    shown += delta;
    rerender(<Markdown text={shown} streaming />);
    // Every intermediate state reads the same as the whole text so far.
    if (checkEachStep) expect(container.textContent).toBe(textOf(shown));
  }
  rerender(<Markdown text={text} streaming={false} />);
  const result = html(container.firstElementChild!);
  unmount();
  return result;
}

function textOf(text: string): string {
  const { container, unmount } = render(<MarkdownWhole text={text} />);
  const content = container.textContent;
  unmount();
  return content;
}

const CASES: Record<string, string> = {
  'a fence opened and closed across deltas, with blank lines inside': [
    'Intro paragraph.\n\n```python\ndef f(x):\n\n    return x + 1\n\n\nprint(f(1))\n```\nRight after the fence.\n\n',
    '~~~ts\nconst a = 1;\n\nconst b = `x`;\n~~~\n\n````\n```\nnot a close\n```\n````\n\nThe end.',
  ].join(''),
  'a table growing row by row': '## Table\n\n| Part | Meaning |\n| --- | :-: |\n| a | `one` |\n| b | **two** |\n| c | three |\n\nAfter the table.\n',
  'nested lists, loose and tight, with code inside': [
    '- one\n  - nested\n\n    a paragraph in nested\n\n- two\n\n',
    '1. first\n2. second\n   - x\n   - y\n\n   ```js\n   let z = 1;\n\n   z++;\n   ```\n\n3. third\n\n',
    'After the lists.\n\n* star\n+ plus\n\n10) ten\n',
  ].join(''),
  'reference links defined late': 'See [the docs][d] and [x], and [missing].\n\nMore text.\n\n[d]: https://example.com/docs "Docs"\n[x]: https://x.example\n\nLater [d] and [X][] again.\n\n[d]: https://second.example (a second [d] loses)\n',
  'reference links whose definitions are not plain': 'See [a] and [b].\n\n[a]:\n  https://a.example\n  "Title"\n\n# H\n[b]: https://b.example\n',
  'footnotes': 'A claim[^1] and another[^note].\n\nMore.\n\n[^1]: The first.\n[^note]: The second.\n',
  'HTML blocks that run past blank lines': 'Text\n\n<!-- a comment\n\nstill the comment -->\n\n<pre>\n\nx\n</pre>\n\nAfter.\n',
  'headings, quotes, rules and setext headings': '# Title\n\nPara\n\n> quote\n> more\n\n> second quote\n\nSetext\n===\n\n---\n\n***\n\nLast *line*',
  'indented code and lazy continuation': 'Para\nlazy line\n\n    indented code\n\n    still code\n\nnext\n',
};

describe('Markdown while streaming', () => {
  beforeAll(async () => {
    // Load the highlighter once, so both renderings highlight from their first render.
    const { container, unmount } = render(<MarkdownWhole text={'```js\nconst x = 1;\n```'} />);
    await waitFor(() => expect(container.querySelector('.hljs-keyword')).not.toBeNull());
    unmount();
  });

  for (const [name, text] of Object.entries(CASES)) {
    it(`renders the same as the whole text: ${name}`, { timeout: 30_000 }, () => {
      const expected = wholeHtml(text);
      expect(streamedHtml(text, 3)).toBe(expected);
      // While streaming, definitions in the open tail reach earlier runs only once the tail
      // closes (re-rendering every run per delta of a definition would undo the point), so
      // intermediate states are compared only for texts without definitions.
      expect(streamedHtml(text, 11, !splitBlocks(text).definitions.length)).toBe(expected);
    });
  }

  it('highlights a closed code block, and an open one only once it closes', () => {
    const open = 'Intro.\n\n```js\nconst a = 1;\n```\n\nNext.\n\n```js\nconst b = 2;\n';
    const { container, rerender } = render(<Markdown text={open} streaming />);
    const [first, second] = container.querySelectorAll('pre');
    expect(first.querySelector('.hljs-keyword')).not.toBeNull();
    expect(second.querySelector('.hljs-keyword')).toBeNull();
    rerender(<Markdown text={open + '```\n'} streaming={false} />);
    expect(container.querySelectorAll('pre')[1].querySelector('.hljs-keyword')).not.toBeNull();
  });

  it('a definition updates links in earlier blocks once its block closes, while streaming', () => {
    const { container, rerender } = render(<Markdown text={'See [d].\n\n[d]: https://d.example\n'} streaming />);
    expect(container.querySelector('a')).toBeNull(); // still in the open tail
    rerender(<Markdown text={'See [d].\n\n[d]: https://d.example\n\nNext'} streaming />);
    expect(container.querySelector('a')?.getAttribute('href')).toBe('https://d.example');
  });

  it('keeps closed blocks as they are while the tail grows (they are not rendered again)', () => {
    const text = 'Intro.\n\n```js\nconst a = 1;\n```\n\nSecond para';
    const { container, rerender } = render(<Markdown text={text} streaming />);
    const pre = container.querySelector('pre')!;
    const keyword = pre.querySelector('.hljs-keyword')!;
    rerender(<Markdown text={text + ' grows'} streaming />);
    expect(container.querySelector('pre')).toBe(pre);
    expect(pre.querySelector('.hljs-keyword')).toBe(keyword);
  });
});

describe('splitBlocks', () => {
  it('joins back to the text, and cuts realistic answers into many runs', () => {
    for (const text of Object.values(CASES)) expect(splitBlocks(text).blocks.join('')).toBe(text);
    const answer = '## A\n\nPara one.\n\n```py\nx = 1\n\ny = 2\n```\nPara two.\n\n- a\n- b\n\nPara three.';
    expect(splitBlocks(answer).blocks).toEqual([
      '## A\n\n',
      'Para one.\n\n',
      '```py\nx = 1\n\ny = 2\n```\n',
      'Para two.\n\n- a\n- b\n\n',
      'Para three.',
    ]);
  });

  it('records plain link definitions, and renders the text as one piece for any other', () => {
    expect(splitBlocks('[a]\n\nb\n\n[a]: http://x "T"\n[B]: <y>').definitions).toEqual([
      { line: '[a]: http://x "T"', run: 2 },
      { line: '[B]: <y>', run: 2 },
    ]);
    expect(splitBlocks('[a]\n\nb\n\n[a]: http://x\n"title on the next line"').whole).toBe(true);
    expect(splitBlocks('# Heading\n[a]: http://x').whole).toBe(true);
    expect(splitBlocks('Text[^1]\n\n[^1]: a footnote').whole).toBe(true);
    expect(splitBlocks('a\n\n```\n[a]: http://x\n```\n\nb')).toMatchObject({ whole: false, definitions: [] });
  });

  it('does not cut inside an open fence or before a list item', () => {
    expect(splitBlocks('```\na\n\nb').blocks).toHaveLength(1);
    expect(splitBlocks('- a\n\n- b\n\n1. c').blocks).toHaveLength(1);
  });
});

describe('splitGrown', () => {
  it('splits a growing text as splitBlocks does, at every step', () => {
    for (const text of Object.values(CASES)) {
      let previous: { text: string; split: Split } | null = null;
      let shown = '';
      for (const delta of deltas(text, 5)) {
        shown += delta;
        const split = splitGrown(shown, previous);
        expect(split).toEqual(splitBlocks(shown));
        previous = { text: shown, split };
      }
    }
    // A list item after a paragraph joins the run before it.
    const grown = splitGrown('a\n\n- b', { text: 'a\n\nx', split: splitBlocks('a\n\nx') });
    expect(grown).toEqual(splitBlocks('a\n\n- b'));
  });
});
