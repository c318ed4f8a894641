/**
 * The service worker: the app shell offline. It precaches the shell (`/` i.e. index.html, every built asset,
 * ORT's wasm, client-config.json) from a list the build writes into this file, serves navigations
 * network-first with the cached shell as the offline fallback, `/client-config.json` network-first,
 * other shell files cache-first, and never caches `/tuf/`, the API or anything else: verified models
 * live in IndexedDB, and TUF metadata must be fresh.
 *
 * A new build (a new list, so a new cache name) installs beside the old one and takes over at once
 * (skipWaiting); the page reloads into it on the next load, and old caches are deleted on activate.
 */

// The WebWorker lib clashes with DOM in one program, so the few service-worker types are here.
interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEventLike extends ExtendableEventLike {
  request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface SwScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEventLike) => void): void;
}

/** Replaced at build time (see `vite-plugins.mjs`): the shell's files and the build's hash. */
declare const __PRECACHE__: { version: string; files: string[] };

const sw = self as unknown as SwScope;
const CACHE = `edgeloop-shell-${__PRECACHE__.version}`;
const CONFIG_PATH = '/client-config.json';
const NEVER = [/^\/tuf\//, /^\/browser\//, /^\/api\//, /^\/mqtt/];

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // The config is optional (a static host without a hub has none): the rest must all succeed.
      await cache.addAll(__PRECACHE__.files.filter((f) => f !== CONFIG_PATH));
      await cache.add(CONFIG_PATH).catch(() => undefined);
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('edgeloop-shell-') && key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== sw.location.origin || NEVER.some((r) => r.test(url.pathname))) return;
  // Every navigation gets the one-page shell; with the browser known offline, skip the network wait.
  if (req.mode === 'navigate') return event.respondWith(navigator.onLine ? networkFirst(req, '/') : fromCache('/'));
  if (url.pathname === CONFIG_PATH) return event.respondWith(networkFirst(req, CONFIG_PATH, true));
  if (__PRECACHE__.files.includes(url.pathname)) event.respondWith(cacheFirst(req));
});

/** Fresh when online (so a new build shows up), the cached copy when not. */
async function networkFirst(req: Request, fallback: string, store = false): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req, { cache: 'no-store' });
    if (store && res.ok) await cache.put(fallback, res.clone());
    return res;
  } catch {
    return (await cache.match(fallback)) ?? Response.error();
  }
}

async function fromCache(path: string): Promise<Response> {
  return (await (await caches.open(CACHE)).match(path)) ?? fetch(path);
}

async function cacheFirst(req: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  return (await cache.match(req, { ignoreSearch: true })) ?? fetch(req);
}
