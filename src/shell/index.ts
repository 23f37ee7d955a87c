export { Shell, sh, raw, quote, join, type ShellValue } from './quote.js';
export { Secret, Masker, isSecret, secretsIn, revealAll } from './secret.js';
export { wrap, type WrapOptions, type Prepared } from './wrap.js';
