// The schema library every broker module uses: zod's tree-shakable build (`zod/mini`) with zod's English
// messages. `zod`'s chained API brings all of zod into the deployable bundle, every locale included, and
// evaluating it took 55-85 ms of the function app's import on these machines; this build takes about 5 ms
// (bench/README.md, sixth round). The messages are zod's own, word for word.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
