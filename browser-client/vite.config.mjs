// `npx vite` (dev server) and `npx vite build` use the same config as `build.mjs`.
import { clientConfig } from './build.mjs';

export default clientConfig();
