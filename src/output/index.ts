export { createOutput, printError, printLine, type Output, type OutputChoice } from './choose.js';
export { jsonListener, type JsonOptions } from './json.js';
export { liveListener, type LiveOptions, type LiveOutput } from './live.js';
export { plainListener, type PlainOptions } from './plain.js';
export { formatRecap, type RecapEvent } from './recap.js';
export { colorEnabled, formatDuration } from './style.js';
