/**
 * Compiles kernels.wat and writes binary.ts (`npm run build:wat -w @edgeloop/models`). The test in
 * simd.test.ts compiles the text again and checks that binary.ts holds the same bytes.
 *
 * Two modules come from the one text: the first imports a plain memory (tfjs's own heap), the
 * second a shared memory, for the kernels that parallel.ts splits over worker threads.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

const PLAIN_IMPORT = '(import "env" "memory" (memory 1))';
/** The shared variant's memory: at most 65,536 pages (4 GiB), the wasm32 limit. */
const SHARED_IMPORT = '(import "env" "memory" (memory 1 65536 shared))';

export interface KernelBinaries {
  plain: Uint8Array;
  shared: Uint8Array;
}

/** The bytes of kernels.wat, compiled with wabt (SIMD, bulk memory, and threads for the shared variant) and validated. */
export async function compileKernelsWat(): Promise<KernelBinaries> {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const text = await readFile(here('./kernels.wat'), 'utf8');
  if (!text.includes(PLAIN_IMPORT)) throw new Error(`kernels.wat must import its memory as ${PLAIN_IMPORT}`);
  const compile = (source: string) => {
    const features = { simd: true, threads: true, bulk_memory: true };
    const module = wabt.parseWat('kernels.wat', source, features);
    try {
      // validate() takes the features too, although its type says not: without them it refuses shared memory.
      (module.validate as (f: object) => void)(features);
      return Uint8Array.from(module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  };
  return { plain: compile(text), shared: compile(text.replace(PLAIN_IMPORT, SHARED_IMPORT)) };
}

const base64Lines = (bytes: Uint8Array) =>
  (
    Buffer.from(bytes)
      .toString('base64')
      .match(/.{1,96}/g) ?? []
  )
    .map((l) => `  '${l}'`)
    .join(' +\n');

/** The source of binary.ts for `binaries`. */
export function binaryModule({ plain, shared }: KernelBinaries): string {
  return `/** Generated from kernels.wat by build.ts (\`npm run build:wat -w @edgeloop/models\`); do not edit. */
/** The kernels on a plain memory: tfjs-backend-wasm's heap. */
export const KERNELS_WASM_BASE64 =
${base64Lines(plain)};
/** The same kernels on a shared memory (parallel.ts). */
export const KERNELS_SHARED_WASM_BASE64 =
${base64Lines(shared)};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const binaries = await compileKernelsWat();
  await writeFile(here('./binary.ts'), binaryModule(binaries));
  console.log(`wrote binary.ts (${binaries.plain.length} and ${binaries.shared.length} bytes of wasm)`);
}
