/** Builds the browser client into `outDir` (default `browser-client/dist`); resolves to its absolute path. */
export function buildClient(outDir?: string): Promise<string>;
/** The absolute path of `browser-client/dist`. */
export const defaultOutDir: string;
/** The Vite config the build uses (for `vite` dev and for tests). */
export function clientConfig(outDir?: string): import('vite').InlineConfig;
