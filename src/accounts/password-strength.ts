// How strong a new password is, judged by zxcvbn-ts (dictionaries, keyboard patterns, l33t, the
// person's own name and address) rather than by length alone. Its dictionaries take most of a
// second to load, so they are loaded on first use, not at start.
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/** zxcvbn's score 3: at least 10^8 guesses ("safely unguessable" against online and throttled attacks). */
export const MIN_SCORE = 3;

let factory: Promise<ZxcvbnFactory> | undefined;

function load(): Promise<ZxcvbnFactory> {
  factory ??= (async () => {
    const [{ ZxcvbnFactory: Factory }, common, en] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
    return new Factory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  })();
  return factory;
}

/** Undefined when strong enough; else why not, in zxcvbn's words. */
export async function weakness(password: string, personal: string[]): Promise<string | undefined> {
  const result = (await load()).check(password, personal.filter(Boolean));
  if (result.score >= MIN_SCORE) return undefined;
  const warning = result.feedback.warning ?? 'It would be guessed quickly';
  const why = warning.charAt(0).toLowerCase() + warning.slice(1);
  const tip = result.feedback.suggestions[0];
  return `is too easy to guess: ${why.replace(/\.$/, '')}${tip ? ` (${tip.replace(/\.$/, '').toLowerCase()})` : ''}`;
}
